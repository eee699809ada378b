"""The activity dashboard: server time of each card and of the whole page for one account with
10M events over 90 days, and the same for an account with 1M, measured in this run.

The events are generated inside PostgreSQL (generate_series: diurnal traffic, a Zipf-like mix
of 12 catalog endpoints and 5 keys, log-normal latency, 2 % errors) into ingest's own staging
table, a day at a time, and summed into the rollups by ingest's own upsert statements — the
dashboard reads only rollups, and 10M events through HTTP would take this bench a quarter of
an hour. Each card is requested through Django's test client as a signed-in owner (URL
routing, access checks, queries and template rendering: everything but the socket); the
figure is the median of 5 requests after one warm-up, and the warm-up's SQL queries are
counted. The page is its shell plus every card. Every card's query count and time at 1M and
10M events is printed, and is a row of the summary table.

    python -m tests.bench.bench_dashboard
    BENCH_DASHBOARD_EVENTS (10,000,000)  BENCH_DASHBOARD_SMALL_EVENTS (1,000,000)
"""

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from tests.bench import Result, env_float, failed, print_table, setup

TITLE = "activity dashboard"
DAYS = 90
CARD_TARGET_MS = 50
PAGE_TARGET_MS = 300
GROWTH_TARGET = 1.5
RUNS = 5
RANGES = ("90d", "30d", "7d", "24h")


def run() -> list[Result]:
    from tests.bench import synthetic as catalog_synthetic

    big = int(env_float("BENCH_DASHBOARD_EVENTS", 10_000_000))
    small = int(env_float("BENCH_DASHBOARD_SMALL_EVENTS", 1_000_000))
    from catalog.policy.snapshot import get_catalog

    catalog_synthetic.ensure_catalog()
    get_catalog()  # compiled now, so no card's first request counts the compile's queries
    timings = {}
    for slug, events in (("bench-small", small), ("bench-big", big)):
        client = _owner_client(_account_with_usage(slug, events))
        with _plain_static_files():
            timings[events] = {r: _time_range(client, slug, r) for r in RANGES}
    worst_card = {n: max(max(t[r]["cards"].values()) for r in RANGES) for n, t in timings.items()}
    worst_page = {n: max(t[r]["page"] for r in RANGES) for n, t in timings.items()}
    for events, per_range in timings.items():
        for range_, figures in per_range.items():
            cards = ", ".join(f"{name} {ms:.1f}" for name, ms in figures["cards"].items())
            print(f"dashboard {events:,} events, {range_}: page {figures['page']:.1f} ms; {cards}")
    growth = worst_card[big] / worst_card[small]
    return [
        Result(f"slowest card, {big:,} events (ms)", worst_card[big], "ms", CARD_TARGET_MS, True),
        Result(f"whole page, {big:,} events (ms)", worst_page[big], "ms", PAGE_TARGET_MS, True),
        Result(f"slowest card, {small:,} events (ms)", worst_card[small], "ms"),
        Result("slowest card 10M ÷ 1M", growth, "×", GROWTH_TARGET, at_most=True),
        *_per_card(timings, small, big),
    ]


def _per_card(timings: dict, small: int, big: int) -> list[Result]:
    """One row per card: its queries (the most over the ranges, the same at both sizes when
    counts are fixed) and its slowest range at each size; the measured figure is at `big`."""
    rows = []
    print(f"{'card':<10} {'queries':>7} {_short(small):>9} {_short(big):>9}  (slowest range, ms)")
    for card in timings[big][RANGES[0]]["cards"]:
        queries = {n: max(timings[n][r]["queries"][card] for r in RANGES) for n in (small, big)}
        ms = {n: max(timings[n][r]["cards"][card] for r in RANGES) for n in (small, big)}
        count = (
            str(queries[big])
            if queries[small] == queries[big]
            else f"{queries[small]}→{queries[big]}"
        )
        print(f"{card:<10} {count:>7} {ms[small]:>9.1f} {ms[big]:>9.1f}")
        name = (
            f"card {card}: {count} queries; {ms[small]:.1f} ms at {_short(small)}, at {_short(big)}"
        )
        rows.append(Result(name, ms[big], "ms"))
    return rows


def _short(events: int) -> str:
    return f"{events / 1e6:g}M" if events >= 1e6 else f"{events:,}"


def failed_results() -> list[Result]:
    return [
        failed("slowest card, 10M events (ms)", "ms", CARD_TARGET_MS, at_most=True),
        failed("whole page, 10M events (ms)", "ms", PAGE_TARGET_MS, at_most=True),
        failed("slowest card 10M ÷ 1M", "×", GROWTH_TARGET, at_most=True),
    ]


def _account_with_usage(slug: str, events: int):
    """The account, its owner and its rollups; rebuilt only when the event count changed."""
    from django.db.models import Sum

    from dashboard.models import Account
    from usage.models import DailyUsage

    account, _ = Account.objects.get_or_create(slug=slug, defaults={"name": slug})
    stored = DailyUsage.objects.filter(account=account).aggregate(n=Sum("requests"))["n"] or 0
    if stored != events:
        _generate(account, events)
    return account


def _generate(account, events: int) -> None:
    from django.db import connection, transaction

    from dashboard.models import ApiKey
    from usage.ingest import ROLLUP_UPSERTS, STAGED_COLUMNS, route_ids
    from usage.models import AccountLatency, DailyUsage, HourlyUsage

    for model in (HourlyUsage, DailyUsage, AccountLatency):
        model.objects.filter(account=account).delete()
    keys = [ApiKey.issue(name=f"bench {n}", account=account)[0].pk for n in range(5)]
    routes = list(route_ids(set(_catalog_pairs(12))).values())
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    columns = ", ".join(name for name, _ in STAGED_COLUMNS)
    started = time.perf_counter()
    for day in range(DAYS):
        day_start = today - timedelta(days=DAYS - 1 - day)
        with transaction.atomic(), connection.cursor() as cursor:
            count = events // DAYS + (day < events % DAYS)  # exactly `events` in all
            _stage_day(cursor, columns, account.pk, keys, routes, day_start, count)
            for statement in ROLLUP_UPSERTS:
                cursor.execute(statement.format(source="usage_staging"))
        if sys.stdout.isatty() or (day + 1) % 30 == 0:
            print(f"\rdashboard: {account.slug}: day {day + 1}/{DAYS}", end="", flush=True)
    print(
        f"\rdashboard: {account.slug}: {events:,} events in {time.perf_counter() - started:.0f} s"
    )


def _stage_day(cursor, columns, account_id, keys, routes, day_start, count) -> None:
    from usage.ingest import _stage

    _stage(cursor, [])  # creates (or empties) the temporary staging table as ingest does
    cursor.execute(
        f"""
        INSERT INTO usage_staging ({columns})
        SELECT ts, gen_random_uuid(), %(account)s,
               (%(keys)s::bigint[])[1 + floor(random() * %(nkeys)s)::int],
               (%(routes)s::bigint[])[1 + floor(%(nroutes)s * random() ^ 2)::int],
               prompt, completion, latency, status, prompt * 2500 + completion * 10000,
               date_trunc('hour', ts), ts::date, %(day)s, bucket
        FROM (
            SELECT ts, prompt, completion, latency, status,
                   CASE WHEN latency = 0 THEN 0
                        ELSE LEAST(419, 1 + ceil(ln(latency) / ln(1.04) - 1e-9))::int END AS bucket
            FROM (
                SELECT %(day)s + (acos(1 - 2 * random()) / pi()) * interval '1 day' AS ts,
                       (50 + random() * 2000)::int AS prompt,
                       (10 + random() * 600)::int AS completion,
                       GREATEST(1, exp(ln(900) + 0.6 * sqrt(-2 * ln(1 - random()))
                                * cos(2 * pi() * random())))::int AS latency,
                       CASE WHEN random() < 0.02 THEN 1 ELSE 0 END AS status
                FROM generate_series(1, %(count)s)
            ) drawn
        ) events
        """,
        {
            "account": account_id,
            "keys": keys,
            "nkeys": len(keys),
            "routes": routes,
            "nroutes": len(routes),
            "day": day_start,
            "count": count,
        },
    )


def _catalog_pairs(count: int) -> list[tuple[str, str]]:
    from catalog.policy.snapshot import get_catalog

    catalog = get_catalog()
    models = sorted(catalog.models())[:count]
    return [(m, catalog.endpoints_for(m)[0].provider) for m in models]


def _plain_static_files():
    """Pages link static files; without collectstatic, the manifest storage cannot name them."""
    from django.conf import settings
    from django.test import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    return override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain})


def _owner_client(account):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(
        username=f"owner@{account.slug}.bench", defaults={"email": f"owner@{account.slug}.bench"}
    )
    Membership.objects.get_or_create(account=account, user=user, defaults={"role": Role.OWNER})
    client = Client()
    client.force_login(user)
    return client


def _time_range(client, slug: str, range_: str) -> dict:
    from usage.views.activity import CARDS

    base = f"/a/{slug}/activity/"
    cards, queries = {}, {}
    for name in CARDS:
        queries[name], cards[name] = _median_ms(client, f"{base}cards/{name}/?range={range_}")
    _, shell = _median_ms(client, f"{base}?range={range_}")
    return {"cards": cards, "queries": queries, "page": shell + sum(cards.values())}


def _median_ms(client, url: str) -> tuple[int, float]:
    """The SQL queries of one request to `url`, and the median time of RUNS more."""
    from django.db import connection

    queries = []

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        response = client.get(url, HTTP_HOST="127.0.0.1")
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url, HTTP_HOST="127.0.0.1")
        times.append((time.perf_counter() - started) * 1000)
    return len(queries), statistics.median(times)


if __name__ == "__main__":
    setup()
    print_table(run())
