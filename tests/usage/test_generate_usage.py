"""Synthetic usage: realistic shapes, reproducible, stored through the real ingest path."""

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from dashboard.models import Account, ApiKey
from usage import synthetic
from usage.ingest import IngestResult
from usage.models import DailyUsage, HourlyUsage, Route, Status, UsageEvent

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ROUTES = [
    synthetic._route(model, provider, True)
    for model, provider in [
        ("openai/gpt-4o-mini", "openai"),
        ("openai/gpt-4o", "openai"),
        ("openai/gpt-4o", "azure"),
        ("anthropic/claude-opus-4", "anthropic"),
        ("meta-llama/llama-3.1-8b-instruct", "together"),
    ]
]


class _Account:
    def __init__(self, pk, slug):
        self.pk, self.slug = pk, slug


def _events(n=20_000, seed=1, days=14, accounts=3, **options):
    senders = [_Account(i, f"team-{i}") for i in range(accounts)]
    options.setdefault("unknown_share", 0.002)
    traffic = synthetic.Traffic(
        senders, {0: ["aa0000000001"]}, ROUTES, days=days, now=NOW, seed=seed, **options
    )
    stream = traffic.events()
    return [next(stream) for _ in range(n)]


@pytest.fixture(scope="module")
def events():
    return _events()


# --- The shapes --------------------------------------------------------------------------------


def test_events_fall_within_the_last_days_and_never_in_the_future(events):
    assert min(e.timestamp for e in events) >= NOW - timedelta(days=14) + synthetic.EDGE
    assert max(e.timestamp for e in events) <= NOW


def test_afternoons_are_busier_than_nights(events):
    by_hour = Counter(e.timestamp.hour for e in events)
    assert by_hour[15] > 2 * by_hour[3]


def test_weekdays_are_busier_than_weekends(events):
    per_day = Counter(e.timestamp.date() for e in events)
    weekend = [n for day, n in per_day.items() if day.weekday() >= 5]
    weekday = [n for day, n in per_day.items() if day.weekday() < 5 and day != NOW.date()]
    assert statistics.mean(weekday) > 1.4 * statistics.mean(weekend)


def test_most_requests_succeed_and_a_few_fail(events):
    statuses = Counter(e.status for e in events)
    assert 0.96 < statuses[Status.OK] / len(events) < 0.99
    assert statuses[Status.ERROR] and statuses[Status.TIMEOUT] and statuses[Status.REJECTED]


def test_failed_requests_produce_no_completion_and_cost_nothing(events):
    failed = [e for e in events if e.status != Status.OK and e.cost_nanos is not None]
    assert failed and all(e.tokens_completion == 0 and e.cost_nanos == 0 for e in failed)
    timeouts = [e.latency_ms for e in events if e.status == Status.TIMEOUT]
    assert min(timeouts) >= 60_000


def test_larger_models_use_more_tokens_take_longer_and_cost_more(events):
    def median(size, field):
        return statistics.median(
            getattr(e, field)
            for e in events
            if e.status == Status.OK and e.cost_nanos and synthetic.size_of(e.model) == size
        )

    for field in ("tokens_prompt", "tokens_completion", "latency_ms", "cost_nanos"):
        assert median("small", field) < median("large", field), field


def test_latency_is_spread_like_a_log_normal(events):
    ok = sorted(e.latency_ms for e in events if e.model == "openai/gpt-4o-mini")
    p50, p99 = ok[len(ok) // 2], ok[len(ok) * 99 // 100]
    assert 2 < p99 / p50 < 20


def test_a_few_events_go_to_routes_the_catalog_does_not_know_when_asked(events):
    known = {(r.model, r.provider) for r in ROUTES}
    unknown = [e for e in events if (e.model, e.provider) not in known]
    assert 0 < len(unknown) < 0.01 * len(events)
    assert all(e.cost_nanos is None for e in unknown)


def test_accounts_send_different_volumes_and_only_keys_they_own(events):
    volumes = Counter(e.account for e in events)
    assert len(volumes) == 3 and len(set(volumes.values())) == 3
    assert {e.api_key for e in events if e.account == "team-0"} == {"aa0000000001"}
    assert {e.api_key for e in events if e.account != "team-0"} == {None}


def test_model_sizes_are_read_from_the_slug():
    assert synthetic.size_of("openai/gpt-4o-mini") == "small"
    assert synthetic.size_of("anthropic/claude-opus-4") == "large"
    assert synthetic.size_of("meta-llama/llama-3.1-405b-instruct") == "large"
    assert synthetic.size_of("cohere/command-r") == "medium"


def test_the_same_seed_gives_the_same_events():
    assert _events(500, seed=7) == _events(500, seed=7)
    assert _events(500, seed=7) != _events(500, seed=8)


# --- Storing -----------------------------------------------------------------------------------


def test_events_are_ingested_in_batches_of_five_thousand(personas, small_catalog, monkeypatch):
    sizes = []
    monkeypatch.setattr(
        synthetic, "ingest", lambda batch: sizes.append(len(batch)) or IngestResult(len(batch), 0)
    )
    reported = []
    result = synthetic.generate([personas.account], days=3, events=12_001, progress=reported.append)
    assert sizes == reported == [5_000, 5_000, 2_001]
    assert result == IngestResult(12_001, 0)


def _requests(account=None) -> int:
    rows = HourlyUsage.objects.filter(**({"account": account} if account else {}))
    return rows.aggregate(n=Sum("requests"))["n"] or 0


def test_the_command_stores_events_and_rollups_for_existing_accounts_first(personas, small_catalog):
    out = StringIO()
    call_command(
        "generate_usage",
        "--accounts",
        "2",
        "--days",
        "3",
        "--events",
        "900",
        "--seed",
        "3",
        stdout=out,
    )
    assert UsageEvent.objects.count() == _requests() == 900
    assert DailyUsage.objects.aggregate(n=Sum("requests"))["n"] == 900
    assert _requests(personas.account) and _requests(personas.other_account)
    assert not Account.objects.filter(slug__startswith="demo-").exists()
    assert (
        out.getvalue()
        .splitlines()[-1]
        .startswith("900 events for 2 accounts over 3 days: 900 accepted, 0 duplicates in ")
    )


def test_the_command_creates_demo_accounts_with_a_key_when_there_are_too_few(
    personas, small_catalog
):
    call_command(
        "generate_usage", "--accounts", "4", "--days", "2", "--events", "400", stdout=StringIO()
    )
    demos = Account.objects.filter(slug__in=["demo-1", "demo-2"])
    assert demos.count() == 2
    for account in demos:
        assert ApiKey.objects.active().filter(account=account).count() == 1
        assert _requests(account) > 0


def test_a_key_sends_only_to_the_routes_it_is_allowed():
    allowed = frozenset({("openai/gpt-4o", "azure"), ("anthropic/claude-opus-4", "anthropic")})
    events = _events(3_000, unknown_share=0, allowed=lambda account, key: allowed)
    assert {(e.model, e.provider) for e in events} == allowed


def test_a_key_allowed_nothing_sends_nothing():
    nothing = lambda account, key: frozenset() if account == 1 else None  # noqa: E731
    events = _events(2_000, unknown_share=0, allowed=nothing)
    assert {e.account for e in events} == {"team-0", "team-2"}


def test_unknown_routes_land_in_the_privacy_teams_list(db, small_catalog):
    call_command(
        "generate_usage",
        "--events",
        "200",
        "--days",
        "1",
        "--unknown-share",
        "0.2",
        stdout=StringIO(),
    )
    flagged = set(Route.objects.flagged().values_list("model", "provider"))
    assert flagged and flagged <= set(synthetic.UNKNOWN_ROUTES)
    assert not Route.objects.filter(known=True).exclude(model__startswith="acme/").exists()


@pytest.mark.parametrize("days", ["0", "31"])
def test_days_must_fit_the_raw_retention_window(db, small_catalog, days):
    with pytest.raises(CommandError, match="USAGE_RAW_RETENTION_DAYS"):
        call_command("generate_usage", "--days", days, "--events", "10")


def test_an_empty_catalog_is_a_clear_error(db):
    with pytest.raises(CommandError, match="seed_catalog"):
        call_command("generate_usage", "--events", "10")
    assert not Account.objects.exists()


def test_seed_demo_gives_the_demo_account_usage_once(db, small_catalog, monkeypatch):
    call_command("seed_demo", "--usage-events", "300", stdout=StringIO())
    demo = Account.objects.get(slug="demo")
    assert _requests(demo) == 300
    call_command("seed_demo", "--usage-events", "300", stdout=StringIO())
    assert _requests(demo) == 300


def _stored_routes(account) -> set[tuple[str, str, str | None]]:
    rows = UsageEvent.objects.filter(account=account)
    return set(rows.values_list("route__model", "route__provider", "api_key__prefix"))


def test_generated_traffic_goes_only_where_the_account_and_key_settings_allow(
    personas, small_catalog
):
    from dashboard import privacy

    privacy.save_defaults(personas.account, {"classification": "internal"})
    strict, _ = ApiKey.issue(name="Strict", account=personas.account)
    loose, _ = ApiKey.issue(name="Loose", account=personas.account)
    privacy.save_guardrail(strict, {"classification": "confidential"})

    synthetic.generate([personas.account], days=2, events=2_000, seed=5)

    sent = _stored_routes(personas.account)
    assert {(m, p) for m, p, key in sent if key == strict.prefix} == {("acme/chat", "safe-ai")}
    assert {(m, p) for m, p, key in sent if key == loose.prefix} == {
        ("acme/chat", "safe-ai"),
        ("acme/chat", "month-ai"),
    }
