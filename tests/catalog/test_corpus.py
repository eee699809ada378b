"""The refresh pipeline on real history: 153 consecutive-snapshot steps of 12 policy pages of 11 AI
providers, recorded by Open Terms Archive in late 2025 and 2026 and labelled by us
(tests/catalog/corpus/labels.json). The snapshots live outside the repository, in
$POLICY_CORPUS_DIR; without them this test is skipped (see tests/catalog/corpus/manifest.json for
how to rebuild the directory from the cited commits)."""

import pytest

from tests.catalog import corpus

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        bool(corpus.problems()),
        reason=f"the corpus snapshots are not in {corpus.corpus_dir()}: rebuild them from the "
        f"commits cited in {corpus.MANIFEST} with `python -m tests.catalog.corpus rebuild`",
    ),
]


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
