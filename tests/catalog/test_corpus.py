"""The refresh pipeline on real history: 153 consecutive-snapshot steps of 12 policy pages of 11 AI
providers, recorded by Open Terms Archive in late 2025 and 2026 and labelled by us
(tests/catalog/corpus/labels.json). The snapshots live outside the repository, in
$POLICY_CORPUS_DIR; without them this test is skipped (see tests/catalog/corpus/manifest.json for
how to rebuild the directory from the cited commits)."""

import pytest

from tests.catalog import corpus
from tests.catalog.corpus.replay import REGISTRATIONS, replay

needs_the_snapshots = pytest.mark.skipif(
    bool(corpus.problems()),
    reason=f"the corpus snapshots are not in {corpus.corpus_dir()}: rebuild them from the "
    f"commits cited in {corpus.MANIFEST} with `python -m tests.catalog.corpus rebuild`",
)


@pytest.fixture
def corpus_server(settings):
    settings.FETCH_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.FETCH_ALLOWED_PORTS = list(range(1024, 65536))
    settings.REFRESH_BACKOFF_SECONDS = 0


def test_the_corpus_is_big_and_varied_enough():
    sources = corpus.manifest()["sources"]
    steps = corpus.all_steps()
    assert len({source["provider"] for source in sources}) >= 8
    assert len(steps) >= 80
    assert {step.label for step in steps} == {"material", "editorial", "noise"}
    assert all(step.reason.strip() for step in steps)


@needs_the_snapshots
@pytest.mark.django_db
@pytest.mark.parametrize("registration", REGISTRATIONS)
def test_on_real_history_the_queue_holds_the_real_changes_each_labelled_right(
    corpus_server, registration
):
    scores = replay(registration)
    print(scores.line())

    assert scores.recall == 1.0, [o.step.after for o in scores.missed]
    assert scores.precision >= 0.9, [o.step.after for o in scores.noise_proposed]
    assert scores.false_material == [], [o.step.after for o in scores.false_material]
    assert scores.material_labelled_editorial == [], [
        o.step.after for o in scores.material_labelled_editorial
    ]
