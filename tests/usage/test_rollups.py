"""The rollups are exact: for any events, in any batches, with replays, every rollup equals
the aggregate of the raw events, and rebuild_rollups reproduces them."""

import math
import uuid
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.models import ApiKey
from tests.usage.conftest import NOW
from usage import activity, histogram, periods
from usage.events import Event
from usage.ingest import RAW_FIELDS, StagedRow, ingest
from usage.models import (
    COUNTERS,
    AccountLatency,
    DailyUsage,
    HourlyUsage,
    Status,
    UsageEvent,
)
from usage.rebuild import rebuild_rollups

ROLLUPS = (HourlyUsage, DailyUsage, AccountLatency)
MEASURES = COUNTERS


@pytest.fixture
def keys(personas):
    return [
        None,
        ApiKey.issue(name="a", account=personas.account)[0].prefix,
        ApiKey.issue(name="b", account=personas.other_account)[0].prefix,
    ]


def events_strategy(keys):
    key_for = {"acme": [None, keys[1]], "globex": [None, keys[2]]}

    @st.composite
    def one_event(draw):
        account = draw(st.sampled_from(["acme", "globex"]))
        return Event(
            timestamp=NOW - timedelta(seconds=draw(st.integers(0, 50 * 3600))),
            event_id=uuid.UUID(int=draw(st.integers(0, 2**64))),
            account=account,
            api_key=draw(st.sampled_from(key_for[account])),
            model=draw(st.sampled_from(["acme/chat", "acme/tiny", "other/x"])),
            provider=draw(st.sampled_from(["safe-ai", "free-ai"])),
            tokens_prompt=draw(st.integers(0, 100_000)),
            tokens_completion=draw(st.integers(0, 100_000)),
            latency_ms=draw(st.one_of(st.integers(0, 50), st.integers(0, 600_000))),
            status=draw(st.sampled_from(list(Status))).value,
            cost_nanos=draw(st.one_of(st.none(), st.integers(0, 10**12))),
        )

    return st.lists(one_event(), min_size=1, max_size=40)


def _table(model) -> Counter:
    """A rollup table as {key: measures}, comparable across runs."""
    rows = Counter()
    for row in model.objects.values():
        row.pop("id", None)
        count = row.pop("count", None)
        measures = tuple(row.pop(name) for name in MEASURES if name in row)
        rows[tuple(sorted(row.items()))] = (count, *measures)
    return rows


def _expected_hourly(events, account_ids) -> dict:
    totals = defaultdict(lambda: [0] * len(MEASURES))
    for e in events:
        key = (account_ids[e.account], e.hour, e.api_key, e.model, e.provider)
        row = totals[key]
        for i, value in enumerate(
            (
                1,
                e.status == Status.ERROR,
                e.status == Status.TIMEOUT,
                e.status == Status.REJECTED,
                e.tokens_prompt,
                e.tokens_completion,
                e.cost_nanos or 0,
                e.latency_ms,
            )
        ):
            row[i] += value
    return {key: tuple(row) for key, row in totals.items()}


def _stored_hourly() -> dict:
    rows = HourlyUsage.objects.values_list(
        "account_id", "hour", "api_key__prefix", "route__model", "route__provider", *MEASURES
    )
    return {tuple(row[:5]): tuple(row[5:]) for row in rows}


def _clear_usage():
    for model in (UsageEvent, *ROLLUPS):
        model.objects.all().delete()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rollups_equal_the_aggregates_of_the_raw_events(personas, keys, data):
    _clear_usage()
    events = data.draw(events_strategy(keys))
    replays = data.draw(st.lists(st.sampled_from(events), max_size=5))
    split = data.draw(st.integers(1, len(events)))
    account_ids = {"acme": personas.account.pk, "globex": personas.other_account.pk}

    ingest(events[:split])
    ingest(events[split:] + replays)

    unique = _first_of_each(events + replays)
    assert _stored_hourly() == _expected_hourly(unique, account_ids)
    for account, pk in account_ids.items():
        mine = [e for e in unique if e.account == account]
        _check_daily_totals(pk, mine)
        _check_latency(pk, mine)


def _first_of_each(events):
    first = {}
    for e in events:
        first.setdefault((e.account, e.timestamp, e.event_id), e)
    return list(first.values())


def _check_daily_totals(account_id, events):
    by_day = Counter()
    for e in events:
        by_day[e.timestamp.date()] += e.tokens_prompt + e.tokens_completion
    stored = Counter()
    for day, prompt, completion in DailyUsage.objects.filter(account_id=account_id).values_list(
        "day", "tokens_prompt", "tokens_completion"
    ):
        stored[day] += prompt + completion
    assert stored == by_day


def _check_latency(account_id, events):
    exact = histogram.of_latencies(e.latency_ms for e in events)
    for span in ("h", "d"):
        stored = Counter()
        for bucket, count in AccountLatency.objects.filter(
            account_id=account_id, span=span
        ).values_list("bucket", "count"):
            stored[bucket] += count
        assert +stored == exact
    values = sorted(e.latency_ms for e in events)
    for q in (0.5, 0.95, 0.99):
        if values:
            true = values[max(1, math.ceil(q * len(values))) - 1]
            assert abs(histogram.percentile(exact, q) - true) <= 0.02 * true + 1e-9


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rebuilding_reproduces_the_rollups_exactly(personas, keys, data):
    _clear_usage()
    ingest(data.draw(events_strategy(keys)))
    before = {model: _table(model) for model in ROLLUPS}
    HourlyUsage.objects.update(requests=0)
    AccountLatency.objects.all().delete()

    rebuild_rollups()

    assert {model: _table(model) for model in ROLLUPS} == before


def test_rebuilding_one_account_leaves_the_others_alone(personas, keys):
    ingest([_event("acme"), _event("globex")])
    HourlyUsage.objects.update(requests=7)

    rebuild_rollups(personas.account)

    assert HourlyUsage.objects.get(account=personas.account).requests == 1
    assert HourlyUsage.objects.get(account=personas.other_account).requests == 7


def test_the_rebuild_command_reports_what_it_read(personas, capsys):
    ingest([_event("acme"), _event("acme")])

    call_command("rebuild_rollups", "--account", "acme")

    assert '"events": 2' in capsys.readouterr().out.splitlines()[-1]


def _event(account):
    return Event(NOW, uuid.uuid4(), account, None, "acme/chat", "safe-ai", 1, 1, 10, 0, None)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(latencies=st.lists(st.integers(0, 600_000), min_size=1, max_size=60))
def test_the_latency_chart_reads_the_same_percentiles_as_the_histogram_module(personas, latencies):
    _clear_usage()
    moment = NOW - timedelta(hours=2)
    ingest(
        [
            Event(moment, uuid.uuid4(), "acme", None, "acme/chat", "safe-ai", 1, 1, ms, 0, None)
            for ms in latencies
        ]
    )

    series = activity.latency_series(personas.account, periods.parse_period({}, NOW))

    expected = histogram.percentiles(histogram.of_latencies(latencies), activity.QUANTILES)
    point = series.points.index(moment.replace(minute=0, second=0))
    assert {q: series.percentiles[q][point] for q in activity.QUANTILES} == expected
    assert series.overall == expected


def test_a_stored_raw_event_stages_as_the_row_its_event_staged(personas, keys):
    event = Event(
        NOW - timedelta(minutes=90), uuid.uuid4(), "acme", None, "acme/chat", "safe-ai",
        100, 20, 1234, 1, None,
    )  # fmt: skip
    ingest([event])
    stored = UsageEvent.objects.values(*RAW_FIELDS).get(event_id=event.event_id)

    staged = StagedRow.from_raw(**stored)

    assert staged == StagedRow.from_event(
        event, personas.account.pk, api_key_id=None, route_id=stored["route_id"]
    )
    assert (staged.hour, staged.day) == (
        event.timestamp.replace(minute=0, second=0, microsecond=0),
        event.timestamp.date(),
    )
    assert staged.bucket == histogram.bucket_of(1234)
