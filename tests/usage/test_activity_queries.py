"""The activity queries: the period a page asks for, and the figures of each card, read from the
rollups that ingest writes (hourly tables up to seven days, daily tables beyond)."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.models import Endpoint, Provider
from catalog.policy import snapshot
from catalog.review import versions as review
from dashboard.models import ApiKey
from tests.catalog.conftest import SMALL_CATALOG
from usage import activity, histogram, ingest
from usage.events import Event
from usage.models import Status
from usage.periods import Period, parse_period
from usage.posture import changed_policies, endpoint_policies, privacy_posture, routes_used

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 14, 20, tzinfo=UTC)
THIS_HOUR = NOW.replace(minute=0)
TODAY = datetime(2026, 11, 30, tzinfo=UTC)


def event(when, model="acme/chat", provider="safe-ai", **fields) -> Event:
    """One event of account acme; tokens 100 + 20, 400 ms, ok, $0.001 unless told."""
    values = {
        "account": "acme",
        "api_key": None,
        "tokens_prompt": 100,
        "tokens_completion": 20,
        "latency_ms": 400,
        "status": Status.OK,
        "cost_nanos": 1_000_000,
    }
    values.update(fields)
    return Event(timestamp=when, event_id=uuid.uuid4(), model=model, provider=provider, **values)


def record(*events: Event) -> None:
    ingest.ingest(list(events))


@pytest.fixture
def now(time_machine, settings):
    settings.USAGE_RAW_RETENTION_DAYS = 400  # the 90-day ranges and their previous periods
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def catalog(db, time_machine, now):
    """The small catalog, imported well before any traffic of these tests."""
    time_machine.move_to(NOW - timedelta(days=400), tick=False)
    Loader().load(parse_catalog(SMALL_CATALOG))
    time_machine.move_to(NOW, tick=False)
    snapshot.forget()
    return snapshot.get_catalog()


def period(**params) -> Period:
    return parse_period(params, NOW)


# --- The period ---------------------------------------------------------------------------------


def test_the_default_period_is_the_last_seven_days_in_hours_up_to_the_current_one():
    default = period()
    assert (default.range, default.grouping, default.notices) == ("7d", "model", ())
    assert default.end == THIS_HOUR + timedelta(hours=1)
    assert default.start == default.end - timedelta(days=7)
    assert default.hourly and len(default.points()) == 168


@pytest.mark.parametrize(
    ("name", "hourly", "points"), [("24h", True, 24), ("7d", True, 168), ("30d", False, 30)]
)
def test_ranges_up_to_seven_days_have_hourly_points_longer_ones_daily(name, hourly, points):
    chosen = period(range=name)
    assert chosen.hourly is hourly
    assert len(chosen.points()) == points


def test_a_ninety_day_range_ends_with_today_and_starts_on_a_utc_midnight():
    ninety = period(range="90d")
    assert ninety.end == TODAY + timedelta(days=1)
    assert ninety.start == TODAY - timedelta(days=89)
    assert ninety.points()[-1] == TODAY


def test_the_previous_period_has_the_same_length_and_ends_where_this_one_starts():
    chosen = period(range="30d")
    before = chosen.previous()
    assert (before.end, before.length, before.hourly) == (chosen.start, chosen.length, False)


def test_a_custom_range_covers_whole_days_and_up_to_seven_of_them_are_hourly():
    week = period(range="custom", start="2026-11-01", end="2026-11-07")
    assert (week.start, week.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 8, tzinfo=UTC),
    )
    assert week.hourly and week.notices == ()
    longer = period(range="custom", start="2026-11-01", end="2026-11-08")
    assert not longer.hourly and len(longer.points()) == 8


def test_a_custom_range_ending_today_stops_at_the_current_hour():
    recent = period(range="custom", start="2026-11-29", end="2026-11-30")
    assert recent.end == THIS_HOUR + timedelta(hours=1)
    assert recent.points()[-1] == THIS_HOUR


def test_a_custom_range_ending_in_the_future_ends_today():
    clipped = period(range="custom", start="2026-10-01", end="2027-01-31")
    assert clipped.last_day == date(2026, 11, 30)
    assert clipped.params == {
        "range": "custom",
        "group": "model",
        "start": "2026-10-01",
        "end": "2026-11-30",
    }


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"range": "forever"}, "Unknown range"),
        ({"range": "custom"}, "needs both a start and an end date"),
        ({"range": "custom", "start": "2026-11-01", "end": "yesterday"}, "must be dates"),
        ({"range": "custom", "start": "2026-11-20", "end": "2026-11-01"}, "starts after it ends"),
        ({"range": "custom", "start": "2026-12-20", "end": "2026-12-21"}, "starts in the future"),
        ({"range": "custom", "start": "2024-01-01", "end": "2026-11-01"}, "at most 366 days"),
        ({"group": "colour"}, "Unknown grouping"),
    ],
)
def test_invalid_parameters_fall_back_to_the_defaults_with_a_notice(params, notice):
    fallback = period(**params)
    assert fallback.range == "7d" and fallback.grouping == "model"
    assert len(fallback.notices) == 1 and notice in fallback.notices[0]


def test_a_period_parses_back_from_its_own_parameters():
    for chosen in (
        period(range="24h", group="key"),
        period(range="custom", start="2026-09-01", end="2026-10-15"),
    ):
        assert parse_period(chosen.params, NOW) == chosen


# --- Which rollup each range reads ---------------------------------------------------------------


def _tables_read(call) -> set[str]:
    with CaptureQueriesContext(connection) as queries:
        call()
    sql = " ".join(query["sql"] for query in queries)
    return {t for t in ("usage_hourlyusage", "usage_dailyusage", "usage_event") if t in sql}


def test_short_ranges_read_the_hourly_rollup_and_long_ones_only_the_daily_one(personas, now):
    record(event(NOW - timedelta(hours=2)))
    week, quarter = period(range="7d"), period(range="90d")
    for function in (activity.usage_series, activity.breakdown, routes_used):
        assert _tables_read(lambda f=function: f(personas.account, week)) == {"usage_hourlyusage"}
        assert _tables_read(lambda f=function: f(personas.account, quarter)) == {"usage_dailyusage"}
    assert _tables_read(lambda: activity.summary(personas.account, quarter)) == {"usage_dailyusage"}


def test_a_weeks_summary_reads_whole_days_from_the_daily_rollup_and_the_same_totals(personas, now):
    # Every third hour, with a different count each, over four weeks: every edge is covered.
    record(
        *(
            event(NOW - timedelta(hours=h), tokens_prompt=h, latency_ms=10 + h, status=h % 4)
            for h in range(0, 24 * 28, 3)
        )
    )
    week = period(range="7d")
    tables = {"usage_hourlyusage", "usage_dailyusage"}
    assert _tables_read(lambda: activity.summary(personas.account, week)) == tables
    for chosen in (
        week,
        period(range="24h"),
        period(range="custom", start="2026-11-20", end="2026-11-22"),
        period(range="custom", start="2026-11-24", end="2026-11-30"),
    ):
        figures = activity.summary(personas.account, chosen)
        for shown, whole in ((figures.current, chosen), (figures.previous, chosen.previous())):
            series = activity.usage_series(personas.account, whole)
            assert shown == activity.Totals.total(series.totals)
            latencies = activity.latency_series(personas.account, whole).overall
            assert (figures.latency if whole is chosen else figures.previous_latency) == latencies


def test_the_latency_chart_reads_the_account_histograms_of_the_periods_span(personas, now):
    record(event(NOW - timedelta(hours=2)))
    with CaptureQueriesContext(connection) as queries:
        activity.latency_series(personas.account, period(range="90d"))
    assert len(queries) == 1
    assert "usage_accountlatency" in queries[0]["sql"]


# --- Figures ------------------------------------------------------------------------------------


def test_the_summary_totals_this_period_and_the_one_before(personas, now):
    record(
        event(NOW - timedelta(hours=1), latency_ms=100),
        event(NOW - timedelta(hours=30), status=Status.ERROR, latency_ms=300, cost_nanos=None),
        event(NOW - timedelta(days=8), tokens_prompt=7, tokens_completion=3),  # previous week
        event(NOW - timedelta(days=15)),  # before both
    )

    figures = activity.summary(personas.account, period(range="7d"))

    assert figures.current.requests == 2 and figures.current.errors == 1
    assert figures.current.tokens == 240 and figures.current.cost_nanos == 1_000_000
    assert figures.current.error_rate == 0.5 and figures.current.avg_latency_ms == 200
    assert (figures.previous.requests, figures.previous.tokens) == (1, 10)
    assert figures.latency[0.5] == pytest.approx(100, rel=histogram.RELATIVE_ERROR)
    assert figures.latency[0.99] == pytest.approx(300, rel=histogram.RELATIVE_ERROR)
    assert figures.previous_latency[0.5] == pytest.approx(400, rel=histogram.RELATIVE_ERROR)


def test_other_accounts_traffic_never_counts(personas, now):
    record(event(NOW - timedelta(hours=1), account="globex"))
    figures = activity.summary(personas.account, period())
    assert figures.current.requests == 0 and figures.latency[0.5] is None
    assert activity.usage_series(personas.account, period()).totals[-2].requests == 0
    assert activity.breakdown(personas.account, period()) == []
    assert activity.export_rows(personas.account, period()) is not None
    assert list(activity.export_rows(personas.account, period())) == []


def test_the_hourly_series_puts_each_event_in_its_hour_and_fills_empty_hours(personas, now):
    record(
        event(THIS_HOUR + timedelta(minutes=5)),
        event(THIS_HOUR + timedelta(minutes=6), status=Status.TIMEOUT),
        event(THIS_HOUR - timedelta(hours=3, minutes=50), tokens_prompt=1, tokens_completion=1),
    )

    series = activity.usage_series(personas.account, period(range="24h"))

    assert len(series.points) == 24 and series.points[-1] == THIS_HOUR
    by_point = dict(zip(series.points, series.totals, strict=True))
    assert (by_point[THIS_HOUR].requests, by_point[THIS_HOUR].timeouts) == (2, 1)
    assert by_point[THIS_HOUR - timedelta(hours=4)].tokens == 2
    assert sum(t.requests for t in series.totals) == 3


def test_the_daily_series_sums_each_utc_day(personas, now):
    record(
        event(TODAY + timedelta(minutes=1)),
        event(TODAY - timedelta(minutes=1)),
        event(TODAY - timedelta(days=20, hours=-3), cost_nanos=5_000_000_000),
    )

    series = activity.usage_series(personas.account, period(range="30d"))

    by_point = dict(zip(series.points, series.totals, strict=True))
    assert by_point[TODAY].requests == 1
    assert by_point[TODAY - timedelta(days=1)].requests == 1
    assert by_point[TODAY - timedelta(days=20)].cost_usd == 5


def test_latency_percentiles_per_point_and_overall_come_from_the_histograms(personas, now):
    latencies = [100] * 50 + [1000] * 45 + [5000] * 5
    record(*(event(NOW - timedelta(days=3), latency_ms=ms) for ms in latencies))
    record(event(NOW - timedelta(days=1), latency_ms=20))

    series = activity.latency_series(personas.account, period(range="30d"))

    day = series.points.index(TODAY - timedelta(days=3))
    expected = histogram.of_latencies(latencies)
    for q in activity.QUANTILES:
        assert series.percentiles[q][day] == histogram.percentile(expected, q)
    assert series.percentiles[0.5][day] == pytest.approx(100, rel=histogram.RELATIVE_ERROR)
    assert series.percentiles[0.99][day] == pytest.approx(5000, rel=histogram.RELATIVE_ERROR)
    assert series.percentiles[0.5][series.points.index(TODAY)] is None
    overall = histogram.of_latencies([*latencies, 20])
    assert series.overall == histogram.percentiles(overall, activity.QUANTILES)


def test_the_breakdown_groups_by_model_provider_or_key_busiest_first(personas, now):
    key, _ = ApiKey.issue(name="Backend", account=personas.account)
    record(
        event(NOW - timedelta(hours=1), "acme/chat", "safe-ai", api_key=key.prefix),
        event(NOW - timedelta(hours=1), "acme/chat", "month-ai", api_key=key.prefix),
        event(NOW - timedelta(hours=2), "acme/tiny", "month-ai"),
    )

    def groups(grouping):
        rows = activity.breakdown(personas.account, period(group=grouping))
        return [(row.key, row.label, row.totals.requests, round(row.share, 3)) for row in rows]

    assert groups("model") == [
        ("acme/chat", "acme/chat", 2, 0.667),
        ("acme/tiny", "acme/tiny", 1, 0.333),
    ]
    assert groups("provider") == [
        ("month-ai", "month-ai", 2, 0.667),
        ("safe-ai", "safe-ai", 1, 0.333),
    ]
    assert groups("key") == [
        (key.prefix, f"Backend ({key.prefix}…)", 2, 0.667),
        ("", "No key", 1, 0.333),
    ]


def test_the_export_has_a_row_per_point_and_group_with_exact_costs(personas, now):
    record(
        event(THIS_HOUR + timedelta(minutes=1), cost_nanos=1),
        event(THIS_HOUR + timedelta(minutes=2), "acme/tiny", "free-ai", latency_ms=1000),
        event(THIS_HOUR - timedelta(hours=1)),
    )

    chosen = period(range="24h", group="provider")
    rows = list(activity.export_rows(personas.account, chosen))

    assert activity.export_columns(chosen)[:2] == ["period_start", "provider"]
    assert rows == [
        [
            (THIS_HOUR - timedelta(hours=1)).isoformat(),
            "safe-ai",
            1,
            0,
            0,
            0,
            100,
            20,
            "0.001000000",
            "400.0",
        ],
        [THIS_HOUR.isoformat(), "free-ai", 1, 0, 0, 0, 100, 20, "0.001000000", "1000.0"],
        [THIS_HOUR.isoformat(), "safe-ai", 1, 0, 0, 0, 100, 20, "0.000000001", "400.0"],
    ]


def test_the_staff_overview_totals_every_account_busiest_first(personas, now):
    record(
        event(NOW - timedelta(hours=1), account="globex"),
        event(NOW - timedelta(hours=2), account="globex"),
        event(NOW - timedelta(hours=1)),
        event(NOW - timedelta(days=9)),
    )

    rows = activity.all_accounts(period(range="7d"))

    assert [(r.slug, r.totals.requests, r.previous_requests) for r in rows] == [
        ("globex", 2, 0),
        ("acme", 1, 1),
    ]


# --- Endpoints, policies and posture -------------------------------------------------------------


def test_each_endpoint_used_carries_its_current_policy_badges(personas, catalog, now):
    record(
        event(NOW - timedelta(hours=1), "acme/chat", "safe-ai"),
        event(NOW - timedelta(hours=1), "acme/chat", "safe-ai"),
        event(NOW - timedelta(hours=1), "acme/chat", "ghost-ai"),
    )

    rows = endpoint_policies(personas.account, period(), catalog, NOW.date())

    safe, ghost = rows
    assert safe.route.endpoint_id == "acme/chat@safe-ai" and safe.provider_listed
    labels = [badge.label for badge in safe.badges]
    assert labels[:3] == ["no training", "zero retention", "no safety retention"]
    assert {"soc2", "iso27001"} <= set(labels)
    assert safe.flags == [] and safe.share == pytest.approx(2 / 3)
    assert ghost.policy is None and not ghost.provider_listed
    assert [badge.label for badge in ghost.flags] == ["unknown route", "not in catalog"]
    assert [badge.label for badge in ghost.badges][:2] == ["training unknown", "retention unknown"]


def test_the_posture_shares_traffic_by_policy_and_unknown_routes_count_as_unknown(
    personas, catalog, now
):
    record(
        event(
            NOW - timedelta(hours=1), "acme/chat", "safe-ai", tokens_prompt=700, tokens_completion=0
        ),
        event(
            NOW - timedelta(hours=1),
            "acme/chat",
            "month-ai",
            tokens_prompt=200,
            tokens_completion=0,
        ),
        event(
            NOW - timedelta(hours=1), "acme/chat", "free-ai", tokens_prompt=50, tokens_completion=0
        ),
        event(
            NOW - timedelta(hours=1), "acme/chat", "ghost-ai", tokens_prompt=50, tokens_completion=0
        ),
    )

    posture = privacy_posture(personas.account, period(), catalog)

    assert (posture.total.requests, posture.total.tokens) == (4, 1000)
    assert (posture.zero_retention.requests, posture.zero_retention.tokens) == (1, 700)
    assert (posture.no_training.requests, posture.no_training.tokens) == (2, 900)
    # free-ai is known to keep data indefinitely and train on it; ghost-ai is unknown.
    assert (posture.unknown.requests, posture.unknown.tokens) == (1, 50)
    assert posture.changed == []


def _approve_new_default(provider_slug, **fields):
    provider = Provider.objects.get(slug=provider_slug)
    current = review.current_version(provider)
    content = {name: getattr(current, name) for name in current.CONTENT_FIELDS} | fields
    return review.apply_import(review.propose(provider, None, content, origin="manual"))


def test_an_endpoint_whose_policy_changed_after_it_served_the_period_is_listed(
    personas, catalog, now, time_machine
):
    record(event(NOW - timedelta(days=2), "acme/chat", "month-ai"), event(NOW - timedelta(hours=1)))
    time_machine.move_to(NOW - timedelta(hours=5), tick=False)
    _approve_new_default("month-ai", retention="zero", retention_days=None)
    time_machine.move_to(NOW, tick=False)
    snapshot.forget()

    posture = privacy_posture(personas.account, period(), snapshot.get_catalog())

    (changed,) = posture.changed
    assert changed.route.endpoint_id == "acme/chat@month-ai"
    assert changed.changed_at == NOW - timedelta(hours=5)
    assert [(c.field, c.before, c.after) for c in changed.changes] == [
        ("retention", "days", "zero"),
        ("retention_days", 30, None),
    ]
    # Shares use today's policy: month-ai is zero retention now.
    assert posture.zero_retention.requests == 2


def test_an_endpoint_override_approved_later_is_a_change_too(personas, catalog, now):
    record(event(NOW - timedelta(hours=3), "acme/chat", "free-ai"))
    endpoint = Endpoint.objects.get(model__slug="acme/chat", provider__slug="free-ai")
    content = {"training": "no"}
    review.apply_import(review.propose(endpoint.provider, endpoint, content, origin="manual"))

    changed = changed_policies(routes_used(personas.account, period()), period())

    assert [(c.field, c.before, c.after) for c in changed[0].changes] == [("training", "yes", "no")]


def test_a_change_approved_before_the_traffic_is_not_listed(personas, catalog, now, time_machine):
    time_machine.move_to(NOW - timedelta(days=3), tick=False)
    _approve_new_default("month-ai", retention="zero", retention_days=None)
    time_machine.move_to(NOW, tick=False)
    record(event(NOW - timedelta(days=2), "acme/chat", "month-ai"))

    routes = routes_used(personas.account, period())

    assert changed_policies(routes, period()) == []


def test_traffic_before_the_catalog_knew_an_endpoint_is_not_a_policy_change(personas, now):
    record(event(NOW - timedelta(hours=3), "acme/chat", "safe-ai"))
    Loader().load(parse_catalog(SMALL_CATALOG))  # the first import, after the traffic

    routes = routes_used(personas.account, period())

    assert changed_policies(routes, period()) == []


# --- A fixed number of queries ------------------------------------------------------------------


ENDPOINTS = [e["model"] + "@" + e["provider"] for e in SMALL_CATALOG["endpoints"]]


def _traffic(account, n):
    """n keys, n hours and days, n routes (known ones first, then unknown ones)."""
    keys = [ApiKey.issue(name=f"key {i}", account=account)[0] for i in range(n)]
    routes = [*ENDPOINTS, *(f"acme/model-{i}@ghost-ai" for i in range(n))][:n]
    record(
        *(
            event(
                NOW - timedelta(hours=i, days=i % 9), *routes[i].split("@"), api_key=keys[i].prefix
            )
            for i in range(n)
        )
    )


@pytest.mark.parametrize("n", [1, 12])
def test_every_query_function_sends_a_fixed_number_of_queries(
    personas, catalog, now, n, django_assert_num_queries
):
    _traffic(personas.account, n)
    account, today = personas.account, NOW.date()
    expected = [
        (lambda p: activity.summary(account, p), 2),
        (lambda p: activity.usage_series(account, p), 1),
        (lambda p: activity.latency_series(account, p), 1),
        (lambda p: activity.breakdown(account, p), 1),
        (lambda p: endpoint_policies(account, p, catalog, today), 1),
        (lambda p: privacy_posture(account, p, catalog), 2),
        (lambda p: list(activity.export_rows(account, p)), 1),
        (lambda p: activity.all_accounts(p), 1),
    ]
    for chosen in (period(range="7d", group="key"), period(range="90d", group="provider")):
        for call, queries in expected:
            with django_assert_num_queries(queries):
                call(chosen)
