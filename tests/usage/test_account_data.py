"""An owner's own usage data: what is stored, a streamed ZIP export, and typed-confirmation
deletion; nobody else may do either."""

import csv
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import ApiKey, AuditEvent
from usage import account_data
from usage.events import Event
from usage.ingest import ingest
from usage.models import (
    AccountLatency,
    DailyUsage,
    HourlyUsage,
    ModelRanking,
    Route,
    Status,
    UsageEvent,
)

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)
TABLES = {
    "raw_events.csv": UsageEvent,
    "hourly_usage.csv": HourlyUsage,
    "daily_usage.csv": DailyUsage,
    "account_latency.csv": AccountLatency,
}

# The account's privacy inquiries travel with its usage data (tests/dashboard/test_inquiries.py).
INQUIRY_FILES = {"inquiries.csv", "inquiry_messages.csv"}


def _event(account, hours_ago=1, key=None, status=Status.OK, cost=1_500, latency=420):
    return Event(
        timestamp=NOW - timedelta(hours=hours_ago),
        event_id=uuid.uuid4(),
        account=account.slug,
        api_key=key.prefix if key else None,
        model="openai/gpt-4o",
        provider="openai",
        tokens_prompt=120,
        tokens_completion=30,
        latency_ms=latency,
        status=status,
        cost_nanos=cost,
    )


@pytest.fixture
def key(personas):
    return ApiKey.issue(name="gateway", account=personas.account)[0]


@pytest.fixture
def stored(personas, key):
    """Acme: 4 events over two days, two keys' worth; Globex: 2 events of its own."""
    ingest(
        [
            _event(personas.account, 1, key),
            _event(personas.account, 1, None, Status.ERROR, cost=None, latency=2_000),
            _event(personas.account, 3, key),
            _event(personas.account, 30, key, Status.TIMEOUT, latency=90_000),
        ]
    )
    ingest([_event(personas.other_account, 1), _event(personas.other_account, 2)])


def _counts(account) -> dict[str, int]:
    return {name: model.objects.filter(account=account).count() for name, model in TABLES.items()}


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _rows(archive, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


# --- The page ----------------------------------------------------------------------------------


def test_the_owner_sees_what_is_stored(client_for, personas, stored):
    page = client_for(personas.owner).get("/a/acme/usage/").content.decode()
    assert '<span class="stat-value" data-testid="raw-events">4</span>' in page
    assert f"{(NOW - timedelta(hours=30)):%Y-%m-%d %H:%M}" in page
    assert "Export all (ZIP)" in page and 'name="confirm"' in page


def test_the_page_says_when_nothing_is_stored(client_for, personas):
    page = client_for(personas.owner).get("/a/acme/usage/").content.decode()
    assert "Nothing is stored for this account" in page and "Export all" not in page


def test_the_summary_counts_every_kind_of_row(personas, stored):
    summary = account_data.usage_summary(personas.account)
    counts = _counts(personas.account)
    assert summary.raw_events == counts["raw_events.csv"] == 4
    assert summary.hourly_rows == counts["hourly_usage.csv"]
    assert summary.daily_rows == counts["daily_usage.csv"]
    assert summary.latency_rows == counts["account_latency.csv"]
    assert (summary.raw_first, summary.raw_last) == (
        NOW - timedelta(hours=30),
        NOW - timedelta(hours=1),
    )


def test_the_page_makes_a_fixed_number_of_queries(client_for, personas, key):
    client = client_for(personas.owner)
    ingest([_event(personas.account, 1, key)])
    client.get("/a/acme/usage/")
    with CaptureQueriesContext(connection) as few:
        client.get("/a/acme/usage/")
    ingest([_event(personas.account, hours, key) for hours in range(1, 60) for _ in range(3)])
    with CaptureQueriesContext(connection) as many:
        client.get("/a/acme/usage/")
    # session, user, membership; memberships, team check and bell of the menu; four counts and
    # the privacy inquiries'
    assert len(few) == len(many) == 11


# --- Export ------------------------------------------------------------------------------------


def test_the_owner_exports_a_zip_with_a_csv_for_each_kind_of_data(client_for, personas, stored):
    response = client_for(personas.owner).get("/a/acme/usage/export.zip")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert 'filename="usage-acme-' in response["Content-Disposition"]
    archive = _zip(response)
    assert archive.testzip() is None
    assert set(archive.namelist()) == {"README.txt", *TABLES, *INQUIRY_FILES}
    counts = _counts(personas.account)
    for name in TABLES:
        assert len(_rows(archive, name)) == counts[name], name


def test_exported_raw_events_are_readable_and_exact(client_for, personas, key, stored):
    archive = _zip(client_for(personas.owner).get("/a/acme/usage/export.zip"))
    rows = _rows(archive, "raw_events.csv")
    assert [row["timestamp"] for row in rows] == sorted(row["timestamp"] for row in rows)
    first = rows[0]
    assert first["timestamp"] == (NOW - timedelta(hours=30)).isoformat()
    assert (first["api_key"], first["model"], first["provider"]) == (
        key.prefix,
        "openai/gpt-4o",
        "openai",
    )
    assert (first["status"], first["cost_usd"], first["latency_ms"]) == (
        "timeout",
        "0.000001500",
        "90000",
    )
    error = next(row for row in rows if row["status"] == "error")
    assert (error["api_key"], error["cost_usd"]) == ("", "")


def test_exported_rollups_add_up_to_the_events(client_for, personas, stored):
    archive = _zip(client_for(personas.owner).get("/a/acme/usage/export.zip"))
    for name in ("hourly_usage.csv", "daily_usage.csv"):
        rows = _rows(archive, name)
        assert sum(int(row["requests"]) for row in rows) == 4
        assert sum(int(row["errors"]) for row in rows) == 1
        assert sum(int(row["tokens_prompt"]) for row in rows) == 480
    latency = _rows(archive, "account_latency.csv")
    assert {row["span"] for row in latency} == {"hour", "day"}
    for span in ("hour", "day"):
        assert sum(int(row["count"]) for row in latency if row["span"] == span) == 4
    assert all(float(row["above_ms"]) < float(row["up_to_ms"]) for row in latency)


def test_the_export_holds_only_the_accounts_own_data(client_for, personas, stored):
    archive = _zip(client_for(personas.outsider).get("/a/globex/usage/export.zip"))
    assert len(_rows(archive, "raw_events.csv")) == 2
    assert all(row["api_key"] == "" for row in _rows(archive, "hourly_usage.csv"))


def test_the_export_is_produced_piece_by_piece_as_rows_are_read(personas, key, monkeypatch):
    monkeypatch.setattr(account_data, "CHUNK", 10)
    ingest([_event(personas.account, 1 + n % 20, key) for n in range(400)])
    pieces = account_data.export_zip(personas.account)
    first = next(pieces)
    assert first.startswith(b"PK\x03\x04")  # bytes leave before the raw events are all read
    rest = list(pieces)
    assert len(rest) > 5
    archive = zipfile.ZipFile(io.BytesIO(first + b"".join(rest)))
    assert len(_rows(archive, "raw_events.csv")) == 400


def test_the_export_of_an_account_without_usage_is_a_zip_of_empty_csvs(client_for, personas):
    archive = _zip(client_for(personas.owner).get("/a/acme/usage/export.zip"))
    assert _rows(archive, "raw_events.csv") == []
    assert archive.read("raw_events.csv").decode().startswith("timestamp,event_id,api_key")


# --- Who may ----------------------------------------------------------------------------------

URLS = ["/a/acme/usage/", "/a/acme/usage/export.zip"]


@pytest.mark.parametrize("role", ["admin", "member"])
@pytest.mark.parametrize("url", URLS)
def test_admins_and_members_may_not_see_or_export_usage_data(client_for, personas, role, url):
    assert client_for(getattr(personas, role)).get(url).status_code == 403


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admins_and_members_may_not_delete_usage_data(client_for, personas, stored, role):
    before = _counts(personas.account)
    response = client_for(getattr(personas, role)).post(
        "/a/acme/usage/delete/", {"confirm": "acme"}
    )
    assert response.status_code == 403
    assert _counts(personas.account) == before


@pytest.mark.parametrize("url", URLS)
def test_another_accounts_usage_data_is_404(client_for, personas, url):
    assert client_for(personas.outsider).get(url).status_code == 404


def test_another_account_cannot_delete_usage_data(client_for, personas, stored):
    before = _counts(personas.account)
    response = client_for(personas.outsider).post("/a/acme/usage/delete/", {"confirm": "acme"})
    assert response.status_code == 404
    assert _counts(personas.account) == before


@pytest.mark.parametrize("url", URLS)
def test_usage_data_needs_a_sign_in(client, personas, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_deleting_takes_a_post(client_for, personas, stored):
    assert client_for(personas.owner).get("/a/acme/usage/delete/").status_code == 405


# --- Deletion ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "ACME", "acme-", "globex", "delete"])
def test_deleting_needs_the_account_slug_typed(client_for, personas, stored, typed):
    before = _counts(personas.account)
    response = client_for(personas.owner).post("/a/acme/usage/delete/", {"confirm": typed})
    assert response.status_code == 200
    assert "Type acme exactly" in response.content.decode() or typed == ""
    assert _counts(personas.account) == before
    assert not AuditEvent.objects.filter(action="usage.deleted").exists()


def test_the_owner_deletes_every_row_of_the_accounts_usage(client_for, personas, stored):
    before = _counts(personas.account)
    response = client_for(personas.owner).post("/a/acme/usage/delete/", {"confirm": "acme"})
    assert response.status_code == 302 and response.url == "/a/acme/usage/"
    assert set(_counts(personas.account).values()) == {0}
    assert before["raw_events.csv"] == 4


def test_deleting_is_audited_with_the_counts(client_for, personas, stored):
    before = _counts(personas.account)
    client_for(personas.owner).post("/a/acme/usage/delete/", {"confirm": "acme"})
    event = AuditEvent.objects.get(action="usage.deleted")
    assert (event.account, event.actor, event.target) == (personas.account, personas.owner, "acme")
    assert event.before == {
        "raw_events": before["raw_events.csv"],
        "hourly_usage": before["hourly_usage.csv"],
        "daily_usage": before["daily_usage.csv"],
        "account_latency": before["account_latency.csv"],
        "inquiries": 0,
    }


def test_deleting_leaves_other_accounts_routes_and_rankings_alone(client_for, personas, stored):
    ModelRanking.objects.create(day=NOW.date(), model="openai/gpt-4o", requests=9, tokens=99)
    others = _counts(personas.other_account)
    client_for(personas.owner).post("/a/acme/usage/delete/", {"confirm": "acme"})
    assert _counts(personas.other_account) == others
    assert Route.objects.filter(model="openai/gpt-4o").exists()
    assert ModelRanking.objects.get().tokens == 99


def test_after_deleting_the_page_shows_nothing_stored(client_for, personas, stored):
    client = client_for(personas.owner)
    response = client.post("/a/acme/usage/delete/", {"confirm": " acme "}, follow=True)
    page = response.content.decode()
    assert "rows of usage metadata" in page and "Nothing is stored for this account" in page
