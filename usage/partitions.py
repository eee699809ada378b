"""Daily partitions of the raw usage events on PostgreSQL, and raw-event retention.

A partition holds one UTC day: `usage_event_p20261130`. Beat creates the coming days ahead of
time; ingest creates a missing one itself (an event may arrive for a day beat has not reached,
or before beat ever ran). Retention drops whole partitions, which costs nothing per row and
leaves no dead tuples; the embedded SQLite default deletes rows instead.
"""

import logging
import re
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from usage.models import UsageEvent

log = logging.getLogger(__name__)
TABLE = UsageEvent._meta.db_table
_NAME = re.compile(rf"{TABLE}_p(\d{{8}})")
_known_days: set[date] = set()  # per process: partitions this process has seen exist


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def oldest_kept_day(today: date | None = None) -> date:
    today = today or timezone.now().date()
    return today - timedelta(days=settings.USAGE_RAW_RETENTION_DAYS)


def oldest_accepted(now: datetime) -> datetime:
    """Ingest refuses events older than this: retention would drop them at once."""
    start = oldest_kept_day(now.date())
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


def ensure(days: set[date]) -> None:
    """Create the partitions for `days` that do not exist yet (PostgreSQL only)."""
    missing = days - _known_days
    if not partitioned() or not missing:
        return
    for day in sorted(missing - existing_days()):
        _create(day)
    _known_days.update(missing)


def _create(day: date) -> None:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_create_sql(day))
        log.info("created partition %s", partition_name(day))
    except DatabaseError:
        # IF NOT EXISTS does not cover two processes creating the same day at once: the
        # loser fails, and the partition it wanted exists.
        if day not in existing_days():
            raise


def _create_sql(day: date) -> str:
    start, end = day, day + timedelta(days=1)
    return (
        f'CREATE TABLE IF NOT EXISTS "{partition_name(day)}" PARTITION OF "{TABLE}" '
        f"FOR VALUES FROM ('{start.isoformat()} 00:00+00') TO ('{end.isoformat()} 00:00+00')"
    )


def existing_days() -> set[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE parent.relname = %s",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {
        datetime.strptime(match[1], "%Y%m%d").date()
        for name in names
        if (match := _NAME.match(name))
    }


def maintain(today: date | None = None) -> dict:
    """Create the partitions for today and the next days; enforce raw retention."""
    today = today or timezone.now().date()
    ahead = {today + timedelta(days=n) for n in range(settings.USAGE_PARTITIONS_AHEAD_DAYS + 1)}
    ensure(ahead)
    return {"dropped": drop_expired(today)}


def drop_expired(today: date | None = None) -> int:
    """Remove raw events of days before the retention window; returns partitions (or, on
    SQLite, rows) removed. Rollups are kept."""
    cutoff = oldest_kept_day(today)
    if not partitioned():
        start = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
        deleted, _ = UsageEvent.objects.filter(timestamp__lt=start).delete()
        return deleted
    expired = sorted(day for day in existing_days() if day < cutoff)
    with connection.cursor() as cursor:
        for day in expired:
            cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(day)}"')
            log.info("dropped expired partition %s", partition_name(day))
    _known_days.difference_update(expired)
    return len(expired)


def forget() -> None:
    """Tests that drop tables behind this process's back clear its memory of them."""
    _known_days.clear()
