"""Usage ingest: POST /api/v1/usage/events through gunicorn into PostgreSQL, against two
baselines measured in this same run on the same rows.

- the API: 1M synthetic events (usage.synthetic.Traffic, in time order as a gateway sends
  them) in batches of 5,000 from 4 client threads, 2 gunicorn workers;
- a bare COPY of the same rows, batch by batch, formatted the way ingest formats them, into a
  table shaped like the raw events with no index, partition or rollup: the floor any ingest
  path stands on;
- a naive ORM path, one event at a time: save the raw event, then read-modify-write each rollup
  row (hourly, daily, the account's latency buckets), on a sample of the rows.

Also the storage per raw event: partitions plus their primary-key index, divided by the rows.

    python -m tests.bench.bench_ingest
    BENCH_INGEST_EVENTS (1,000,000)  BENCH_INGEST_NAIVE_EVENTS (3,000)
"""

import http.client
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.bench import Result, env_float, failed, print_table, setup
from tests.bench.bench_http import Gunicorn

TITLE = "usage ingest"
BATCH = 5_000
CLIENTS = 4
ACCOUNTS = 50
PATH = "/api/v1/usage/events"
RATE_TARGET = 50_000
COPY_RATIO_TARGET = 0.60
NAIVE_RATIO_TARGET = 20
BYTES_TARGET = 200
STATUS = {0: "ok", 1: "error", 2: "timeout", 3: "rejected"}


def run() -> list[Result]:
    from tests.bench import synthetic as catalog_synthetic

    total = int(env_float("BENCH_INGEST_EVENTS", 1_000_000))
    naive_sample = int(env_float("BENCH_INGEST_NAIVE_EVENTS", 3_000))
    catalog_synthetic.ensure_catalog()
    _clear_usage()
    secret, events = _events(total)
    bodies = _bodies(events)
    print(f"ingest: {total:,} events in {len(bodies)} batches of {BATCH:,}", flush=True)
    with Gunicorn() as server:
        _wait_until_answering(server.port, secret)
        seconds, answers = _post_all(server.port, secret, bodies)
    accepted = sum(answer["accepted"] for answer in answers)
    api_rate = accepted / seconds
    print(f"ingest: API stored {accepted:,} events in {seconds:.1f} s: {api_rate:,.0f}/s")
    stored_bytes, raw_rows = _raw_storage()
    rows = _rows_for_copy(events)
    copy_rate = _bare_copy_rate(rows)
    naive_rate = _naive_rate(events[:naive_sample])
    return [
        Result("ingest events/s over HTTP (1M, batches of 5,000)", api_rate, "/s", RATE_TARGET),
        Result("ingest ÷ bare COPY of the same rows", api_rate / copy_rate, "×", COPY_RATIO_TARGET),
        Result("ingest ÷ naive per-event ORM", api_rate / naive_rate, "×", NAIVE_RATIO_TARGET),
        Result("bare COPY rows/s (baseline)", copy_rate, "/s"),
        Result("naive ORM events/s (baseline)", naive_rate, "/s"),
        Result(
            "raw event storage per row", stored_bytes / max(raw_rows, 1), "B", BYTES_TARGET, True
        ),
    ]


def failed_results() -> list[Result]:
    return [
        failed("ingest events/s over HTTP (1M, batches of 5,000)", "/s", RATE_TARGET),
        failed("ingest ÷ bare COPY of the same rows", "×", COPY_RATIO_TARGET),
        failed("ingest ÷ naive per-event ORM", "×", NAIVE_RATIO_TARGET),
        failed("raw event storage per row", "B", BYTES_TARGET, at_most=True),
    ]


def _clear_usage() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE usage_event, usage_hourlyusage, usage_dailyusage, usage_accountlatency"
        )


def _events(total: int):
    """An ingest key and `total` events for ACCOUNTS accounts over the last day, in time order."""
    from django.utils import timezone

    from dashboard.models import ApiKey
    from usage import synthetic

    accounts = synthetic.accounts_for(ACCOUNTS)
    keys_of = {a.pk: [ApiKey.issue(name="bench", account=a)[0].prefix] for a in accounts}
    now = timezone.now() - timedelta(minutes=1)
    traffic = synthetic.Traffic(
        accounts, keys_of, synthetic.catalog_routes(), days=1, now=now, seed=6
    )
    stream = traffic.events()
    started = time.perf_counter()
    events = sorted((next(stream) for _ in range(total)), key=lambda e: e.timestamp)
    print(f"ingest: generated {total:,} events in {time.perf_counter() - started:.1f} s")
    _, secret = ApiKey.issue(name="bench gateway", kind=ApiKey.Kind.INGEST)
    return secret, events


def _bodies(events) -> list[bytes]:
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    return [json.dumps({"events": [_as_json(e) for e in batch]}).encode() for batch in batches]


def _as_json(event) -> dict:
    body = {
        "id": str(event.event_id),
        "account": event.account,
        "timestamp": event.timestamp.isoformat(),
        "model": event.model,
        "provider": event.provider,
        "tokens_prompt": event.tokens_prompt,
        "tokens_completion": event.tokens_completion,
        "latency_ms": event.latency_ms,
        "status": STATUS[event.status],
    }
    if event.api_key:
        body["api_key"] = event.api_key
    if event.cost_nanos is not None:
        body["cost_usd"] = f"{event.cost_nanos / 1e9:.9f}"
    return body


def _post(port: int, secret: str, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
        connection.request("POST", PATH, body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _wait_until_answering(port: int, secret: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, answer = _post(port, secret, b'{"events": []}')
        except OSError:
            time.sleep(0.2)
            continue
        if status != 200:
            raise RuntimeError(f"ingest answered HTTP {status}: {answer}")
        return
    raise RuntimeError("gunicorn did not answer")


def _post_all(port: int, secret: str, bodies: list[bytes]) -> tuple[float, list[dict]]:
    def send(body):
        status, answer = _post(port, secret, body)
        if status != 200:
            raise RuntimeError(f"ingest answered HTTP {status}: {answer}")
        return answer

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(send, bodies))
    return time.perf_counter() - started, answers


def _raw_storage() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
            "WHERE inhparent = 'usage_event'::regclass"
        )
        size = int(cursor.fetchone()[0])
        cursor.execute("SELECT COUNT(*) FROM usage_event")
        rows = cursor.fetchone()[0]
    print(f"ingest: raw events take {size / 1e6:,.1f} MB for {rows:,} rows")
    return size, rows


def _rows_for_copy(events) -> list[tuple]:
    from dashboard.models import Account, ApiKey
    from usage.ingest import route_ids

    accounts = dict(Account.objects.values_list("slug", "pk"))
    keys = dict(ApiKey.objects.values_list("prefix", "pk"))
    routes = route_ids({(e.model, e.provider) for e in events})
    return [
        (
            e.timestamp,
            uuid.uuid4(),
            accounts[e.account],
            keys.get(e.api_key),
            routes[(e.model, e.provider)],
            e.tokens_prompt,
            e.tokens_completion,
            e.latency_ms,
            e.status,
            e.cost_nanos,
        )
        for e in events
    ]


def _bare_copy_rate(rows: list[tuple]) -> float:
    from django.db import connection, transaction

    from usage.ingest import RAW_COLUMNS

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_copy")
        cursor.execute("CREATE TABLE bench_bare_copy AS SELECT * FROM usage_event WITH NO DATA")
    started = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.copy(f"COPY bench_bare_copy ({RAW_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write("".join(map(_copy_line, rows[i : i + BATCH])))
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_bare_copy")
    print(f"ingest: bare COPY of {len(rows):,} rows in {seconds:.1f} s")
    return len(rows) / seconds


def _copy_line(row: tuple) -> str:
    """COPY text formatted by hand, as ingest does, so the baseline is as fast as it can be."""
    return "\t".join("\\N" if value is None else str(value) for value in row) + "\n"


def _naive_rate(events) -> float:
    """One event at a time through the ORM, as a first version might do it."""
    from django.db import transaction
    from django.db.models import F

    from dashboard.models import Account, ApiKey
    from usage.histogram import bucket_of
    from usage.ingest import route_ids
    from usage.models import AccountLatency, DailyUsage, HourlyUsage, UsageEvent

    _clear_usage()
    started = time.perf_counter()
    for e in events:
        with transaction.atomic():
            account = Account.objects.get(slug=e.account)
            key = ApiKey.objects.filter(prefix=e.api_key).first() if e.api_key else None
            route_id = route_ids({(e.model, e.provider)})[(e.model, e.provider)]
            if UsageEvent.objects.filter(
                account=account, timestamp=e.timestamp, event_id=e.event_id
            ).exists():
                continue
            UsageEvent.objects.create(
                timestamp=e.timestamp,
                event_id=e.event_id,
                account=account,
                api_key=key,
                route_id=route_id,
                tokens_prompt=e.tokens_prompt,
                tokens_completion=e.tokens_completion,
                latency_ms=e.latency_ms,
                status=e.status,
                cost_nanos=e.cost_nanos,
            )
            scope = {"account": account, "api_key": key, "route_id": route_id}
            hour = e.timestamp.replace(minute=0, second=0, microsecond=0)
            measures = {
                "requests": F("requests") + 1,
                "errors": F("errors") + int(e.status == 1),
                "timeouts": F("timeouts") + int(e.status == 2),
                "rejections": F("rejections") + int(e.status == 3),
                "tokens_prompt": F("tokens_prompt") + e.tokens_prompt,
                "tokens_completion": F("tokens_completion") + e.tokens_completion,
                "cost_nanos": F("cost_nanos") + (e.cost_nanos or 0),
                "latency_ms_sum": F("latency_ms_sum") + e.latency_ms,
            }
            for model, period in (
                (HourlyUsage, {"hour": hour}),
                (DailyUsage, {"day": hour.date()}),
            ):
                row, _ = model.objects.get_or_create(**scope, **period)
                model.objects.filter(pk=row.pk).update(**measures)
            bucket = bucket_of(e.latency_ms)
            day_start = hour.replace(hour=0)
            for span, start in (("h", hour), ("d", day_start)):
                row, _ = AccountLatency.objects.get_or_create(
                    account=account, span=span, start=start, bucket=bucket, defaults={"count": 0}
                )
                AccountLatency.objects.filter(pk=row.pk).update(count=F("count") + 1)
    seconds = time.perf_counter() - started
    print(f"ingest: naive ORM stored {len(events):,} events in {seconds:.1f} s")
    _clear_usage()
    return len(events) / seconds


if __name__ == "__main__":
    setup()
    print_table(run())
