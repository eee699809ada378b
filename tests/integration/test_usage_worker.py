"""The usage beat tasks through Redis on a real Celery worker: partitions and rankings."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.models import Account
from tests.integration.conftest import wait_for
from usage import partitions
from usage.events import Event
from usage.ingest import ingest
from usage.models import ModelRanking

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("worker")]


@pytest.fixture
def usage_worker(transactional_db, monkeypatch, request):
    monkeypatch.setenv("USAGE_RANKING_MIN_ACCOUNTS", "2")
    return request.getfixturevalue("celery_worker_process")


def test_the_worker_ranks_yesterday_from_the_rollups(usage_worker):
    from usage.tasks import compute_rankings

    yesterday = timezone.now() - timedelta(days=1)
    for slug in ("one", "two"):
        Account.objects.create(slug=slug, name=slug)
    ingest(
        [
            Event(yesterday, uuid.uuid4(), slug, None, "acme/chat", "safe-ai", 10, 5, 90, 0, None)
            for slug in ("one", "two")
        ]
    )

    compute_rankings.delay()

    ranked = wait_for(lambda: ModelRanking.objects.filter(model="acme/chat").first(), timeout=60)
    assert ranked, "the worker did not rank yesterday within 60 s"
    assert (ranked.day, ranked.requests, ranked.tokens) == (yesterday.date(), 2, 30)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL")
def test_the_worker_creates_the_coming_days_partitions(usage_worker):
    from usage.tasks import maintain_partitions

    ahead = timezone.now().date() + timedelta(days=3)

    maintain_partitions.delay()

    assert wait_for(lambda: ahead in partitions.existing_days(), timeout=60)
