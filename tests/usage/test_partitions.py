"""Raw-event retention: whole days go, rollups stay; PostgreSQL partitions exist ahead."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection

from tests.usage.conftest import NOW
from usage import partitions
from usage.events import Event
from usage.ingest import ingest
from usage.models import HourlyUsage, UsageEvent
from usage.tasks import maintain_partitions

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions exist only on PostgreSQL"
)


def _event(days_ago: int) -> Event:
    moment = NOW - timedelta(days=days_ago)
    return Event(moment, uuid.uuid4(), "acme", None, "acme/chat", "safe-ai", 5, 5, 100, 0, None)


def test_retention_removes_old_raw_events_and_keeps_their_rollups(personas, settings):
    settings.USAGE_RAW_RETENTION_DAYS = 30
    ingest([_event(10), _event(0)])

    partitions.maintain(today=NOW.date() + timedelta(days=25))

    assert list(UsageEvent.objects.values_list("timestamp", flat=True)) == [NOW]
    assert sum(HourlyUsage.objects.values_list("requests", flat=True)) == 2


def test_events_inside_the_window_are_kept(personas, settings):
    settings.USAGE_RAW_RETENTION_DAYS = 30
    ingest([_event(29), _event(0)])

    maintain_partitions()

    assert UsageEvent.objects.count() == 2


@on_postgresql
def test_each_day_has_its_own_partition_created_ahead(personas, settings):
    settings.USAGE_PARTITIONS_AHEAD_DAYS = 3
    today = NOW.date()

    partitions.maintain(today=today)

    assert {today + timedelta(days=n) for n in range(4)} <= partitions.existing_days()


@on_postgresql
def test_ingest_creates_a_missing_partition_itself(personas):
    ingest([_event(2)])

    assert (NOW - timedelta(days=2)).date() in partitions.existing_days()


@on_postgresql
def test_expired_days_are_dropped_as_whole_partitions(personas, settings):
    settings.USAGE_RAW_RETENTION_DAYS = 30
    ingest([_event(10)])
    old_day = (NOW - timedelta(days=10)).date()

    dropped = partitions.drop_expired(today=NOW.date() + timedelta(days=25))

    assert dropped >= 1
    assert old_day not in partitions.existing_days()
