"""RollupQuerySet: the rollup reads behind the activity cards, on the rollups ingest writes."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from usage import ingest
from usage.events import Event
from usage.models import DailyUsage, HourlyUsage, Status, rollup_for
from usage.periods import parse_period

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 14, 20, tzinfo=UTC)


@pytest.fixture
def now(time_machine, settings):
    settings.USAGE_RAW_RETENTION_DAYS = 400
    time_machine.move_to(NOW, tick=False)
    return NOW


def record(when, account="acme", model="acme/chat", tokens_prompt=100, status=Status.OK):
    event = Event(
        when, uuid.uuid4(), account, None, model, "safe-ai", tokens_prompt, 20, 400, status, 1000
    )
    ingest.ingest([event])


def test_an_accounts_totals_in_a_period_add_up_its_events_and_no_one_elses(personas, now):
    week = parse_period({"range": "7d"}, NOW)
    record(NOW - timedelta(hours=1))
    record(NOW - timedelta(days=2), status=Status.ERROR)
    record(NOW - timedelta(days=9))  # before the period
    record(NOW - timedelta(hours=1), account="globex")

    row = rollup_for(week).objects.for_account(personas.account).in_period(week).totals()

    assert (row["requests"], row["errors"], row["tokens_prompt"]) == (2, 1, 200)


def test_a_series_has_one_row_per_point_with_traffic(personas, now):
    day = parse_period({"range": "24h"}, NOW)
    for hours in (1, 1, 3):
        record(NOW - timedelta(hours=hours))

    rows = HourlyUsage.objects.for_account(personas.account).in_period(day).series()

    assert sorted((row["hour"].hour, row["requests"]) for row in rows) == [(11, 1), (13, 2)]


def test_a_breakdown_by_model_sums_each_models_rows(personas, now):
    month = parse_period({"range": "30d", "group": "model"}, NOW)
    record(NOW - timedelta(days=3), model="acme/chat")
    record(NOW - timedelta(days=4), model="acme/chat")
    record(NOW - timedelta(days=5), model="acme/code")

    rows = DailyUsage.objects.for_account(personas.account).in_period(month).breakdown("model")

    assert {row["route__model"]: row["requests"] for row in rows} == {
        "acme/chat": 2,
        "acme/code": 1,
    }


def test_pieces_read_whole_days_from_the_daily_rollup_and_the_hours_around_them_hourly(
    personas, now
):
    record(NOW - timedelta(hours=1))  # today, in the hours after the last whole day
    record(NOW - timedelta(days=3))  # a whole day
    pieces = [
        (True, datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
        (False, datetime(2026, 11, 30, tzinfo=UTC), NOW.replace(minute=0)),
    ]

    days = DailyUsage.objects.for_account(personas.account).in_pieces(pieces).totals()
    hours = HourlyUsage.objects.for_account(personas.account).in_pieces(pieces).totals()

    assert (days["requests"], hours["requests"]) == (1, 1)
