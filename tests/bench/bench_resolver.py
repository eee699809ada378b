"""In process: resolutions per second through the real hot path, and the naive ORM baseline.

The hot path is what POST /api/v1/policy/resolve runs once the key is authenticated and the body
parsed: `snapshot.get_catalog()`, `resolver.merge_cached` of the account, key and request layers
and `resolver.resolve_cached`, which keeps each (policy, model, day)'s resolution. The same
requests are also resolved with nothing kept (`resolver.resolve`), the cost of a first request.
The baseline (`naive.py`) answers the same requests from the ORM. All run here, one after the
other, on the same requests, in this one thread (one core).

Snapshot memory is measured with tracemalloc: the bytes still allocated after `compile_catalog()`
returns (the compiled `resolver.Catalog` a process keeps), and the peak while it compiles.

    python -m tests.bench.bench_resolver      # BENCH_RESOLVER_SECONDS per figure (default 3)
"""

import gc
import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.policy import resolver
from tests.bench import Result, env_float, failed, print_table, setup

TITLE = "in process"
SINGLE = 150_000  # target, single-model resolutions per CPU-second (10,000 endpoints)
SPEEDUP = 50  # target, × the naive resolver
MEMORY_TARGET = 50  # MB
MB = 1_000_000
REQUESTS = 2_000
AUTO_REQUESTS = 50
AGREEMENT_SAMPLE = 300

# Account defaults and key guardrails, as the privacy-settings feature will store them (today
# `layers_for_key` returns none): requests come from accounts with and without them.
_NONE = resolver.Constraints()
ACCOUNT_AND_KEY_LAYERS = (
    (_NONE, _NONE),
    (resolver.Constraints(training_allowed=False), _NONE),
    (resolver.Constraints(training_allowed=False), resolver.Constraints(retention_days=30)),
    (
        resolver.Constraints(stale_as_unknown=True, exclude=frozenset({"prov-13"})),
        resolver.Constraints(order=("prov-40", "prov-63")),
    ),
)


@dataclass(frozen=True)
class Request:
    model: str
    layers: tuple[tuple[str, resolver.Constraints], ...]


def run() -> list[Result]:
    # Imported here, not at the top: they need Django configured, which `setup()` does first.
    from catalog.models import CatalogState
    from catalog.policy import snapshot
    from catalog.policy.compile import compile_catalog
    from tests.bench import naive, synthetic

    seconds = env_float("BENCH_RESOLVER_SECONDS", 3)
    synthetic.ensure_catalog()
    CatalogState.current_version()  # opens the connection outside the traced compile
    retained, peak = snapshot_memory(compile_catalog)
    snapshot.forget()
    compile_seconds = _timed(snapshot.get_catalog)  # and keeps the snapshot for the runs below
    print(
        f"snapshot: {retained / MB:.1f} MB retained after compile_catalog() (tracemalloc; "
        f"peak while compiling {peak / MB:.1f} MB), compiled in {compile_seconds:.2f} s"
    )

    requests = request_mix(REQUESTS)
    fast, slow = hot_path(snapshot.get_catalog), naive_path(naive)
    auto = [Request(resolver.AUTO_MODEL, r.layers) for r in requests[:AUTO_REQUESTS]]
    mismatches = disagreements(requests[:AGREEMENT_SAMPLE] + auto[:3], fast, slow)
    print(f"answers: {mismatches} of {AGREEMENT_SAMPLE + 3} sampled requests differ from naive")

    single = rate(fast, requests, seconds)
    first = rate(hot_path(snapshot.get_catalog, kept=False), requests, seconds)
    print(
        f"single model, nothing kept (each request's first time): "
        f"{first.per_cpu_second:,.1f} per CPU-second",
        flush=True,
    )
    single_naive = rate(slow, requests, seconds)
    _print_comparison("single model", single, single_naive)
    whole = rate(hot_path(snapshot.get_catalog, kept=False), auto, seconds)
    whole_naive = rate(slow, auto, seconds, at_least=3)
    _print_comparison(resolver.AUTO_MODEL, whole, whole_naive)
    # The speedup compares wall clocks: the naive resolver's cost is mostly waiting on the
    # database, which its CPU time would leave out.
    return [
        Result("snapshot memory (tracemalloc, retained)", retained / MB, "MB", MEMORY_TARGET, True),
        Result("snapshot compile time (10,000 endpoints)", compile_seconds, "s"),
        Result("answers differing from naive (sample)", mismatches, "requests", 0, True),
        Result("single-model resolutions per CPU-second", single.per_cpu_second, "/s", SINGLE),
        Result("single-model resolutions/s, wall clock", single.per_second, "/s"),
        Result("single-model, nothing kept, per CPU-second", first.per_cpu_second, "/s"),
        Result("single-model, naive ORM, wall clock", single_naive.per_second, "/s"),
        Result("single-model speedup vs naive", _speedup(single, single_naive), "×", SPEEDUP),
        Result("anyapi/auto resolutions/s, nothing kept, wall clock", whole.per_second, "/s"),
        Result("anyapi/auto, naive ORM, wall clock", whole_naive.per_second, "/s"),
        Result("anyapi/auto speedup vs naive", _speedup(whole, whole_naive), "×"),
    ]


def failed_results() -> list[Result]:
    return [
        failed("snapshot memory (tracemalloc, retained)", "MB", MEMORY_TARGET, at_most=True),
        failed("single-model resolutions per CPU-second", "/s", SINGLE),
        failed("single-model speedup vs naive", "×", SPEEDUP),
    ]


def request_mix(count: int) -> list[Request]:
    """The bodies the HTTP benchmark sends, parsed as the API parses them, from mixed accounts."""
    from catalog.policy import request as request_mapping
    from catalog.policy.snapshot import get_both
    from tests.bench import synthetic

    bodies = synthetic.request_bodies(synthetic.providers_by_model(), count, seed=2)
    rng = random.Random(3)
    requests = []
    for body in bodies:
        account, key = rng.choice(ACCOUNT_AND_KEY_LAYERS)
        catalog, published = get_both()
        mapped = request_mapping.map_request(
            request_mapping.convert(body), catalog.models(), published.provider_named
        )
        layers = (("account", account), ("key", key), ("request", mapped.constraints))
        requests.append(Request(mapped.models[0], layers))
    return requests


def hot_path(get_catalog: Callable[[], resolver.Catalog], kept=True) -> Callable[[Request], object]:
    resolve_one = resolver.resolve_cached if kept else resolver.resolve

    def resolve(request: Request) -> resolver.Resolution:
        effective = resolver.merge_cached(tuple(request.layers))
        today = datetime.now(UTC).date()
        return resolve_one(get_catalog(), request.model, effective, today)

    return resolve


def naive_path(naive) -> Callable[[Request], object]:
    def resolve(request: Request):
        effective = resolver.merge(request.layers)
        return naive.resolve(request.model, effective, datetime.now(UTC).date())

    return resolve


def disagreements(requests: list[Request], fast, slow) -> int:
    from tests.bench.naive import Answer

    return sum(Answer.of(fast(r)) != slow(r) for r in requests)


@dataclass(frozen=True)
class Rate:
    done: int
    wall: float  # seconds
    cpu: float  # seconds this process ran

    @property
    def per_second(self) -> float:
        return self.done / self.wall

    @property
    def per_cpu_second(self) -> float:
        """What one core does when it is ours alone: other engineers' tests share this machine."""
        return self.done / self.cpu


def rate(resolve, requests: list[Request], seconds: float, at_least: int = 1) -> Rate:
    """Cycle through `requests` for `seconds` (and at least `at_least` of them)."""
    done = 0
    started, started_cpu = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while True:
        resolve(requests[done % len(requests)])
        done += 1
        if done >= at_least and time.perf_counter() >= deadline:
            break
    return Rate(done, time.perf_counter() - started, time.process_time() - started_cpu)


def _speedup(fast: Rate, slow: Rate) -> float:
    return fast.per_second / slow.per_second


def snapshot_memory(compile_catalog) -> tuple[int, int]:
    """Bytes the compiled catalog keeps, and the peak while compiling, both by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        catalog = compile_catalog()
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del catalog
    return retained - baseline, peak - baseline


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _print_comparison(label: str, fast: Rate, slow: Rate) -> None:
    print(
        f"{label}: {fast.per_second:,.1f} resolutions/s through the snapshot "
        f"({fast.per_cpu_second:,.1f} per CPU-second), {slow.per_second:,.1f}/s naive ORM: "
        f"{fast.per_second / slow.per_second:,.1f}× faster",
        flush=True,
    )


if __name__ == "__main__":
    setup()
    print_table(run())
