"""Write a validated batch of usage events: raw rows and every rollup, in one transaction.

The rows go into a per-connection temporary staging table (COPY on PostgreSQL). One set-based
INSERT moves them into the raw events, skipping ids already stored, and the rows it actually
inserted feed the rollup upserts. So a replayed event is counted once, a concurrent replay
waits on the unique index rather than slipping through, and a request that dies midway leaves
nothing behind.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

from django.db import connection, models, transaction

from catalog.policy.snapshot import get_catalog
from dashboard.models import Account, ApiKey
from usage import histogram, partitions
from usage.events import BatchRejected, Event
from usage.models import Route, Status


class StagedRow(NamedTuple):
    """One event as the staging table holds it: the raw event's columns (its ids resolved),
    then what the rollups group by."""

    timestamp: datetime
    event_id: uuid.UUID
    account_id: int
    api_key_id: int | None
    route_id: int
    tokens_prompt: int
    tokens_completion: int
    latency_ms: int
    status: int
    cost_nanos: int | None
    hour: datetime
    day: date
    day_start: datetime
    bucket: int

    @classmethod
    def from_raw(
        cls,
        timestamp: datetime,
        event_id: uuid.UUID,
        account_id: int,
        api_key_id: int | None,
        route_id: int,
        tokens_prompt: int,
        tokens_completion: int,
        latency_ms: int,
        status: int,
        cost_nanos: int | None,
    ) -> "StagedRow":
        """A stored raw event's columns, by name, plus its hour, day and latency bucket."""
        hour, day, day_start = _periods(timestamp.replace(minute=0, second=0, microsecond=0))
        return cls(
            timestamp,
            event_id,
            account_id,
            api_key_id,
            route_id,
            tokens_prompt,
            tokens_completion,
            latency_ms,
            status,
            cost_nanos,
            hour,
            day,
            day_start,
            _bucket_of(latency_ms),
        )

    @classmethod
    def from_event(
        cls, event: Event, account_id: int, api_key_id: int | None, route_id: int
    ) -> "StagedRow":
        return cls.from_raw(  # by position: ingest makes one per event
            event.timestamp,
            event.event_id,
            account_id,
            api_key_id,
            route_id,
            event.tokens_prompt,
            event.tokens_completion,
            event.latency_ms,
            event.status,
            event.cost_nanos,
        )


# A batch spans a few hours and repeats latencies: each is worked out once, not per event.
@lru_cache(maxsize=4096)
def _periods(hour: datetime) -> tuple[datetime, date, datetime]:
    day_start = hour.replace(hour=0)
    return hour, day_start.date(), day_start


_bucket_of = lru_cache(maxsize=65_536)(histogram.bucket_of)


# Column types come from Django fields so each database gets its own spelling (SQLite would
# read an unknown type name such as "uuid" as numeric and mangle hexadecimal ids).
_COLUMN_TYPES = {
    "timestamp": models.DateTimeField(),
    "event_id": models.UUIDField(),
    "account_id": models.BigIntegerField(),
    "api_key_id": models.BigIntegerField(),
    "route_id": models.BigIntegerField(),
    "tokens_prompt": models.IntegerField(),
    "tokens_completion": models.IntegerField(),
    "latency_ms": models.IntegerField(),
    "status": models.SmallIntegerField(),
    "cost_nanos": models.BigIntegerField(),
    "hour": models.DateTimeField(),
    "day": models.DateField(),
    "day_start": models.DateTimeField(),
    "bucket": models.SmallIntegerField(),
}
STAGED_COLUMNS = tuple((name, _COLUMN_TYPES[name]) for name in StagedRow._fields)
RAW_FIELDS = StagedRow._fields[: StagedRow._fields.index("hour")]  # the raw event's own columns
RAW_COLUMNS = ", ".join(RAW_FIELDS)
_route_ids: dict[tuple[str, str], int] = {}  # routes never change, so every process keeps them


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


def ingest(events: Sequence[Event]) -> IngestResult:
    """Store `events` (already validated); BatchRejected if an account or key is unknown."""
    if not events:
        return IngestResult(0, 0)
    accounts = _account_ids({event.account for event in events})
    keys = _key_ids(events, accounts)
    routes = route_ids({(event.model, event.provider) for event in events})
    rows = [_row(event, accounts, keys, routes) for event in _first_of_each_event(events)]
    partitions.ensure({row.day for row in rows})
    with transaction.atomic():
        accepted = write_rows(rows)
    return IngestResult(accepted, len(events) - accepted)


# A key the gateway reports traffic for was used, even if it never called this console's API
# itself: its last use moves up to its latest staged event, never back.
_MARK_KEYS_USED = (
    f"UPDATE {ApiKey._meta.db_table} SET last_used_at = latest.moment"
    " FROM (SELECT api_key_id, MAX(timestamp) AS moment FROM usage_staging"
    " WHERE api_key_id IS NOT NULL GROUP BY api_key_id) AS latest"
    f" WHERE {ApiKey._meta.db_table}.id = latest.api_key_id"
    f" AND ({ApiKey._meta.db_table}.last_used_at IS NULL"
    f" OR {ApiKey._meta.db_table}.last_used_at < latest.moment)"
)


def _first_of_each_event(events: Sequence[Event]) -> list[Event]:
    # COPY would stage a repeated event twice and the raw insert would keep one; the rollups
    # must not see the other either. An event is (account, timestamp, id), as in the table.
    first: dict[tuple, Event] = {}
    for event in events:
        first.setdefault((event.account, event.timestamp, event.event_id), event)
    return list(first.values())


def _account_ids(slugs: set[str]) -> dict[str, int]:
    found = dict(Account.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    unknown = sorted(slugs - set(found))
    if unknown:
        raise BatchRejected(
            "unknown_account",
            f"No account {unknown[0]!r}; nothing in this batch was stored.",
            account=unknown[0],
        )
    return found


def _key_ids(events: Sequence[Event], accounts: dict[str, int]) -> dict[tuple[int, str], int]:
    prefixes = {event.api_key for event in events if event.api_key}
    if not prefixes:
        return {}
    found = {
        (account_id, prefix): pk
        for prefix, account_id, pk in ApiKey.objects.filter(
            prefix__in=prefixes, account_id__in=accounts.values()
        ).values_list("prefix", "account_id", "pk")
    }
    for index, event in enumerate(events):
        if event.api_key and (accounts[event.account], event.api_key) not in found:
            raise BatchRejected(
                "unknown_api_key",
                f"events[{index}].api_key: account {event.account!r} has no key with this "
                "prefix; nothing in this batch was stored.",
                index=index,
                field="api_key",
            )
    return found


def route_ids(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of (model, provider) routes, creating the missing ones (flagged when the catalog
    has no such endpoint)."""
    missing = pairs - _route_ids.keys()
    if missing:
        catalog_endpoints = _catalog_endpoint_ids()
        Route.objects.bulk_create(
            [
                Route(
                    model=model, provider=provider, known=f"{model}@{provider}" in catalog_endpoints
                )
                for model, provider in sorted(missing)
            ],
            ignore_conflicts=True,
        )
        models = {model for model, _ in missing}
        for route in Route.objects.filter(model__in=models).only("model", "provider"):
            _route_ids[(route.model, route.provider)] = route.pk
    return {pair: _route_ids[pair] for pair in pairs}


def _catalog_endpoint_ids() -> set[str]:
    catalog = get_catalog()
    return {endpoint.id for model in catalog.models() for endpoint in catalog.endpoints_for(model)}


def forget_routes() -> None:
    """Tests that roll back route rows clear the process's memory of them."""
    _route_ids.clear()


def _row(event: Event, accounts, keys, routes) -> StagedRow:
    account_id = accounts[event.account]
    api_key_id = keys[(account_id, event.api_key)] if event.api_key else None
    route_id = routes[(event.model, event.provider)]
    return StagedRow.from_event(event, account_id, api_key_id, route_id)


def write_rows(rows: Sequence[StagedRow]) -> int:
    """Stage `rows`, store the new ones as raw events and add them to the rollups (and move
    their keys' last use); returns how many were new. Call inside a transaction."""
    with connection.cursor() as cursor:
        _stage(cursor, rows)
        fresh, source = _insert_raw(cursor, len(rows))
        if fresh:
            for statement in ROLLUP_UPSERTS:
                cursor.execute(statement.format(source=source))
        cursor.execute(_MARK_KEYS_USED)
    return fresh


def add_to_rollups(rows: Iterable[StagedRow]) -> None:
    """Add staged `rows` to the rollups only (rebuilding from raw events that are stored)."""
    with connection.cursor() as cursor:
        _stage(cursor, rows)
        for statement in ROLLUP_UPSERTS:
            cursor.execute(statement.format(source="usage_staging"))


def _stage(cursor, rows: Iterable[StagedRow]) -> None:
    _empty_temporary_table(cursor, "usage_staging")
    if connection.vendor == "postgresql":
        with cursor.copy(f"COPY usage_staging ({_names()}) FROM STDIN") as copy:
            copy.write(_copy_text(rows))
        return
    placeholders = ", ".join(["%s"] * len(STAGED_COLUMNS))
    cursor.executemany(
        f"INSERT INTO usage_staging VALUES ({placeholders})", [_for_sqlite(row) for row in rows]
    )


def _empty_temporary_table(cursor, name: str) -> None:
    """A per-connection table shaped like the staged rows, and empty: it is already, unless an
    earlier batch ran in this same transaction (a rebuild)."""
    columns = ", ".join(f"{column} {field.db_type(connection)}" for column, field in STAGED_COLUMNS)
    emptied_on_commit = " ON COMMIT DELETE ROWS" if connection.vendor == "postgresql" else ""
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({columns}){emptied_on_commit}")
    cursor.execute(f"DELETE FROM {name}")


def _copy_text(rows: Iterable[StagedRow]) -> str:
    """The rows in COPY's text format, built by hand: every staged value is a number, a date,
    a UTC datetime or a UUID, whose str() PostgreSQL reads as is, so nothing needs escaping.
    Several times faster than psycopg's per-value write_row; a batch's few distinct hours and
    days are formatted once."""
    periods: dict[datetime, str] = {}
    lines = []
    for row in rows:
        hour = row.hour
        period = periods.get(hour) or periods.setdefault(
            hour, f"{hour}\t{row.day}\t{row.day_start}"
        )
        key, cost = row.api_key_id, row.cost_nanos
        lines.append(
            f"{row.timestamp}\t{row.event_id}\t{row.account_id}\t{NULL if key is None else key}\t"
            f"{row.route_id}\t{row.tokens_prompt}\t{row.tokens_completion}\t{row.latency_ms}\t"
            f"{row.status}\t{NULL if cost is None else cost}\t{period}\t{row.bucket}\n"
        )
    return "".join(lines)


NULL = "\\N"


def _names() -> str:
    return ", ".join(name for name, _ in STAGED_COLUMNS)


def _for_sqlite(row: StagedRow) -> StagedRow:
    # Django's own SQLite representations, so the ORM reads these rows back unchanged.
    ops = connection.ops
    return row._replace(
        timestamp=ops.adapt_datetimefield_value(row.timestamp),
        event_id=row.event_id.hex,
        hour=ops.adapt_datetimefield_value(row.hour),
        day=ops.adapt_datefield_value(row.day),
        day_start=ops.adapt_datetimefield_value(row.day_start),
    )


def _insert_raw(cursor, staged: int) -> tuple[int, str]:
    """Move the staged rows into the raw events, minus those already stored; returns how many
    were new and the table holding just them, for the rollups."""
    if connection.vendor != "postgresql":
        # SQLite has one writer at a time: nothing can insert between this check and the insert.
        cursor.execute(
            "DELETE FROM usage_staging WHERE EXISTS (SELECT 1 FROM usage_event stored"
            " WHERE stored.account_id = usage_staging.account_id"
            " AND stored.timestamp = usage_staging.timestamp"
            " AND stored.event_id = usage_staging.event_id)"
        )
        cursor.execute(_INSERT_NEW)
        return cursor.rowcount, "usage_staging"
    # Replays are rare: insert straight from staging, and when every row was new the rollups
    # read staging too. Only a batch with repeats is inserted again, keeping the rows this
    # insert really added apart from those a replay (perhaps a concurrent one) stored first.
    cursor.execute("SAVEPOINT usage_raw")
    cursor.execute(_INSERT_NEW)
    if cursor.rowcount == staged:
        cursor.execute("RELEASE SAVEPOINT usage_raw")
        return staged, "usage_staging"
    cursor.execute("ROLLBACK TO SAVEPOINT usage_raw")
    _empty_temporary_table(cursor, "usage_fresh")
    cursor.execute(
        f"WITH inserted AS ({_INSERT_NEW} RETURNING account_id, timestamp, event_id)"
        " INSERT INTO usage_fresh SELECT staged.* FROM usage_staging staged"
        " JOIN inserted USING (account_id, timestamp, event_id)"
    )
    return cursor.rowcount, "usage_fresh"


_INSERT_NEW = (  # WHERE true: SQLite would read ON CONFLICT as part of the SELECT's FROM
    f"INSERT INTO usage_event ({RAW_COLUMNS}) SELECT {RAW_COLUMNS} FROM usage_staging WHERE true"
    " ON CONFLICT DO NOTHING"
)


_COUNTERS = {
    "requests": "COUNT(*)",
    "errors": f"SUM(CASE WHEN status = {Status.ERROR.value} THEN 1 ELSE 0 END)",
    "timeouts": f"SUM(CASE WHEN status = {Status.TIMEOUT.value} THEN 1 ELSE 0 END)",
    "rejections": f"SUM(CASE WHEN status = {Status.REJECTED.value} THEN 1 ELSE 0 END)",
    "tokens_prompt": "SUM(tokens_prompt)",
    "tokens_completion": "SUM(tokens_completion)",
    "cost_nanos": "COALESCE(SUM(cost_nanos), 0)",
    "latency_ms_sum": "SUM(latency_ms)",
}


def _upsert(table: str, keys: dict[str, str], conflict: str, measures: dict[str, str]) -> str:
    """INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE adding the measures.

    `keys` maps the table's key columns to expressions over the staged rows. Rows are inserted
    in key order so concurrent batches lock rollup rows in the same order and cannot deadlock.
    `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT.
    """
    group = ", ".join(expr for expr in keys.values() if not expr.startswith("'"))
    additions = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in measures)
    return (
        f"INSERT INTO {table} ({', '.join([*keys, *measures])}) "
        f"SELECT {', '.join([*keys.values(), *measures.values()])} FROM {{source}} WHERE true "
        f"GROUP BY {group} ORDER BY {group} "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {additions}"
    )


_PER_ROUTE = {"account_id": "account_id", "api_key_id": "api_key_id", "route_id": "route_id"}
_BUCKET = {"bucket": "bucket"}
_ROUTE_CONFLICT = "account_id, {period}, COALESCE(api_key_id, 0), route_id"
_COUNT = {"count": "COUNT(*)"}

ROLLUP_UPSERTS = (
    _upsert(
        "usage_hourlyusage",
        {**_PER_ROUTE, "hour": "hour"},
        _ROUTE_CONFLICT.format(period="hour"),
        _COUNTERS,
    ),
    _upsert(
        "usage_dailyusage",
        {**_PER_ROUTE, "day": "day"},
        _ROUTE_CONFLICT.format(period="day"),
        _COUNTERS,
    ),
    _upsert(
        "usage_accountlatency",
        {"account_id": "account_id", "span": "'h'", "start": "hour", **_BUCKET},
        "account_id, span, start, bucket",
        _COUNT,
    ),
    _upsert(
        "usage_accountlatency",
        {"account_id": "account_id", "span": "'d'", "start": "day_start", **_BUCKET},
        "account_id, span, start, bucket",
        _COUNT,
    ),
)
