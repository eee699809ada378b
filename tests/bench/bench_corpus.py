"""Change detection on real history: the labelled corpus of tests/catalog/corpus (consecutive
Open Terms Archive snapshots of AI providers' policy pages) replayed through the refresh
pipeline, once with every source registered without a selector and once with Open Terms
Archive's selectors. Printed: precision and recall of the proposals, and how many noise steps
reached the queue labelled material.

The snapshots are read from $POLICY_CORPUS_DIR (default /work/corpus/policy-history); without
them the figures are n/a (see tests/catalog/corpus/manifest.json to rebuild the directory).

    python -m tests.bench.bench_corpus
"""

from tests.bench import Result, failed, print_table, setup

# Runs after the ordered benchmarks (tests/bench/__main__.py): for a while it adds providers of
# its own, and the others reuse the synthetic catalog only while it has exactly its providers.
TITLE = "change detection on real history"
PRECISION_TARGET = 90.0  # %, issue 11
RECALL_TARGET = 100.0  # %
LABELS = {"bare": "without a selector", "ota": "with OTA's selectors"}


def _names(label: str) -> tuple[str, str, str]:
    return (
        f"corpus precision, {label}",
        f"corpus recall, {label}",
        f"corpus noise labelled material, {label}",
    )


def run() -> list[Result]:
    from django.test import override_settings

    from tests.catalog import corpus
    from tests.catalog.corpus import replay

    if problems := corpus.problems():
        print(f"corpus: {len(problems)} snapshots missing or altered in {corpus.corpus_dir()}")
        return failed_results()
    reachable = override_settings(
        FETCH_ALLOW_PRIVATE_HOSTS=["127.0.0.1"],
        FETCH_ALLOWED_PORTS=list(range(1024, 65536)),
        REFRESH_BACKOFF_SECONDS=0,
    )
    results = []
    with reachable:
        for registration in replay.REGISTRATIONS:
            replay.clear()
            scores = replay.replay(registration)
            print(scores.line(), flush=True)
            precision, recall, false_material = _names(LABELS[registration])
            results += [
                Result(precision, 100 * scores.precision, "%", PRECISION_TARGET),
                Result(recall, 100 * scores.recall, "%", RECALL_TARGET),
                Result(false_material, len(scores.false_material), "steps", 0, True),
            ]
        replay.clear()
    return results


def failed_results() -> list[Result]:
    found = []
    for label in LABELS.values():
        precision, recall, false_material = _names(label)
        found += [
            failed(precision, "%", PRECISION_TARGET),
            failed(recall, "%", RECALL_TARGET),
            failed(false_material, "steps", 0, True),
        ]
    return found


if __name__ == "__main__":
    setup()
    print_table(run())
