"""A batch is all or nothing, and concurrent replays of it still count once."""

import threading
import uuid

import pytest
from django.db import DatabaseError, connection, connections

from tests.usage.conftest import NOW
from usage import ingest as ingest_module
from usage.events import Event
from usage.ingest import ingest
from usage.models import AccountLatency, DailyUsage, HourlyUsage, UsageEvent


def _batch(size=50):
    return [
        Event(NOW, uuid.uuid4(), "acme", None, "acme/chat", "safe-ai", 3, 4, 120 + n, 0, 10)
        for n in range(size)
    ]


def test_a_batch_that_fails_midway_leaves_nothing_behind(personas, monkeypatch):
    failing = (*ingest_module.ROLLUP_UPSERTS[:2], "SELECT no_such_column FROM {source}")
    monkeypatch.setattr(ingest_module, "ROLLUP_UPSERTS", failing)

    with pytest.raises(DatabaseError):
        ingest(_batch())

    for table in (UsageEvent, HourlyUsage, DailyUsage, AccountLatency):
        assert not table.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time")
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_counts_once(personas):
    batch, results, start = _batch(2_000), [], threading.Barrier(2)

    def send():
        try:
            start.wait()
            results.append(ingest(batch))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 2_000), (2_000, 0)]
    assert sum(HourlyUsage.objects.values_list("requests", flat=True)) == 2_000
    assert UsageEvent.objects.count() == 2_000
