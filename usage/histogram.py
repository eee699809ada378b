"""Latency histograms with fixed log-spaced buckets that merge by adding counts.

Bucket 0 holds 0 ms. Bucket i ≥ 1 holds latencies in (GAMMA^(i-2), GAMMA^(i-1)] ms, and a
percentile is reported as the bucket's midpoint 2·GAMMA^(i-1)/(1+GAMMA), which is within
(GAMMA-1)/(GAMMA+1) < 2 % of every value in the bucket, so of the exact percentile too.
The last bucket also takes everything above its lower bound (about 2 hours); such latencies
are timeouts in practice and are reported as that bound.
"""

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate

GAMMA = 1.04
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)  # 1.96 %
BUCKETS = 420
_LOG_GAMMA = math.log(GAMMA)


def bucket_of(latency_ms: int) -> int:
    if latency_ms <= 0:
        return 0
    # The epsilon keeps exact powers of GAMMA in their own bucket despite rounding.
    index = 1 + math.ceil(math.log(latency_ms) / _LOG_GAMMA - 1e-9)
    return min(max(index, 1), BUCKETS - 1)


def representative(bucket: int) -> float:
    """The value reported for any latency in `bucket`."""
    if bucket <= 0:
        return 0.0
    return 2 * GAMMA ** (bucket - 1) / (1 + GAMMA)


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank q-quantile (0 < q ≤ 1) of a histogram, or None when it is empty."""
    return percentiles(counts, (q,))[q]


def percentiles(counts: Mapping[int, int], qs: Iterable[float]) -> dict[float, float | None]:
    buckets = sorted(counts)
    return sorted_percentiles(buckets, [counts[bucket] for bucket in buckets], qs)


def sorted_percentiles(
    buckets: Sequence[int], counts: Sequence[int], qs: Iterable[float]
) -> dict[float, float | None]:
    """`percentiles` of a histogram given as its buckets in ascending order and their counts:
    the value of the bucket where the running count first reaches the rank ⌈q·total⌉."""
    running = list(accumulate(counts))
    total = running[-1] if running else 0
    if total == 0:
        return dict.fromkeys(qs)
    return {
        q: representative(buckets[bisect_left(running, max(1, math.ceil(q * total)))]) for q in qs
    }


def merge(*histograms: Mapping[int, int]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bucket, count in histogram.items():
            merged[bucket] = merged.get(bucket, 0) + count
    return merged


def of_latencies(latencies: Iterable[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for latency in latencies:
        bucket = bucket_of(latency)
        counts[bucket] = counts.get(bucket, 0) + 1
    return counts
