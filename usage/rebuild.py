"""Recompute the rollups from the raw events that are still kept.

Rollups of days before the oldest raw event are left alone: their raw events are gone (raw
retention), and the rollups are the only record of them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import batched

from django.db import connection, transaction
from django.db.models import Min

from usage.ingest import RAW_FIELDS, StagedRow, add_to_rollups
from usage.models import AccountLatency, DailyUsage, HourlyUsage, UsageEvent


@dataclass(frozen=True)
class RebuildResult:
    events: int
    since: datetime | None


def rebuild_rollups(account=None, chunk_size: int = 50_000) -> RebuildResult:
    """Replace every rollup row from the first kept raw day on with sums of the raw events."""
    events = (
        UsageEvent.objects.all() if account is None else UsageEvent.objects.filter(account=account)
    )
    with transaction.atomic():
        _hold_off_ingest()
        first = events.aggregate(first=Min("timestamp"))["first"]
        if first is None:
            return RebuildResult(0, None)
        since = datetime(first.year, first.month, first.day, tzinfo=UTC)
        _delete_rollups(account, since)
        rows = events.filter(timestamp__gte=since).values(*RAW_FIELDS)
        count = 0
        for chunk in batched(rows.iterator(chunk_size=chunk_size), chunk_size, strict=False):
            add_to_rollups(StagedRow.from_raw(**raw) for raw in chunk)
            count += len(chunk)
    return RebuildResult(count, since)


def _hold_off_ingest() -> None:
    # Ingest writes the raw row before its rollups; with the hourly rollup locked, a batch
    # arriving now waits uncommitted, so it is neither read here nor lost afterwards.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {HourlyUsage._meta.db_table} IN EXCLUSIVE MODE")


def _delete_rollups(account, since: datetime) -> None:
    scope = {} if account is None else {"account": account}
    HourlyUsage.objects.filter(hour__gte=since, **scope).delete()
    DailyUsage.objects.filter(day__gte=since.date(), **scope).delete()
    AccountLatency.objects.filter(start__gte=since, **scope).delete()
