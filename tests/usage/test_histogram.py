"""The latency histogram's laws: buckets partition the values, percentiles stay within 2 %."""

import math

from hypothesis import given
from hypothesis import strategies as st

from usage import histogram

latencies = st.integers(min_value=0, max_value=3_600_000)


def exact_percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_the_documented_error_bound_is_under_two_percent():
    assert histogram.RELATIVE_ERROR < 0.02


@given(latencies)
def test_every_latency_is_reported_within_the_bound(latency):
    reported = histogram.representative(histogram.bucket_of(latency))

    assert abs(reported - latency) <= histogram.RELATIVE_ERROR * latency + 1e-9


@given(latencies, latencies)
def test_buckets_keep_latencies_in_order(a, b):
    if a <= b:
        assert histogram.bucket_of(a) <= histogram.bucket_of(b)


@given(st.lists(latencies, min_size=1, max_size=500), st.sampled_from([0.5, 0.95, 0.99, 1.0]))
def test_percentiles_are_within_two_percent_of_exact(values, q):
    estimate = histogram.percentile(histogram.of_latencies(values), q)
    exact = exact_percentile(values, q)

    assert abs(estimate - exact) <= 0.02 * exact + 1e-9


@given(st.lists(latencies, max_size=200), st.lists(latencies, max_size=200))
def test_merging_histograms_is_the_histogram_of_all_values(first, second):
    merged = histogram.merge(histogram.of_latencies(first), histogram.of_latencies(second))

    assert merged == histogram.of_latencies(first + second)


def test_an_empty_histogram_has_no_percentile():
    assert histogram.percentile({}, 0.5) is None


def test_zero_is_exact_and_the_last_bucket_takes_everything_above():
    assert histogram.representative(histogram.bucket_of(0)) == 0
    assert histogram.bucket_of(10**12) == histogram.BUCKETS - 1
