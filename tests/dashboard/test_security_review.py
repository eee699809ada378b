"""The holes of the security review: spoofable client addresses, audit rows written apart from
the change, TRUNCATE on the audit log, formulas in CSV exports, activity ranges in year 1."""

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from core.csv_export import safe_cell
from dashboard import audit
from dashboard.apikeys import create_key
from dashboard.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db


def _request(remote="10.0.0.9", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.9"),  # no proxy trusted: the header is the client's word
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client wrote 6.6.6.6 itself
        (2, "6.6.6.6, 203.0.113.5, 192.0.2.1", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.9"),  # fewer entries than proxies: nothing to trust
        (1, "unknown", "10.0.0.9"),  # not an address: ignored
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "", "10.0.0.9"),
    ],
)
def test_the_client_address_is_taken_from_the_right_behind_trusted_proxies(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert audit.client_ip(_request(forwarded=forwarded)) == expected


def test_a_bogus_forwarded_address_never_fails_a_key_creation(client_for, personas, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    response = client_for(personas.owner).post(
        "/a/acme/keys/", {"name": "ci", "kind": "inference"}, headers={"X-Forwarded-For": "unknown"}
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="ci")
    event = AuditEvent.objects.get(action="apikey.created", target=key.prefix)
    assert event.ip_address == "127.0.0.1"


def test_a_key_is_not_created_when_its_audit_row_cannot_be_written(personas, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("audit write failed")

    monkeypatch.setattr(AuditEvent.objects, "create", fail)
    with pytest.raises(DatabaseError):
        create_key(name="ci", kind="inference", account=personas.account, actor=personas.owner)
    assert not ApiKey.objects.filter(name="ci").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_postgresql_refuses_truncate_on_the_audit_log(personas):
    audit.record("test.event", account=personas.account)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE dashboard_auditevent")
    assert AuditEvent.objects.filter(action="test.event").count() == 1


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_cell_that_a_spreadsheet_would_run_is_quoted(start):
    assert safe_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


def test_numbers_and_plain_text_are_left_alone():
    assert [safe_cell(v) for v in (-3, 1.5, "plain", "", None)] == [-3, 1.5, "plain", "", None]


def test_an_invited_email_cannot_become_a_formula_in_the_audit_export(client_for, personas):
    audit.record("member.invited", account=personas.account, target="=cmd|' /C calc'!A0@x.test")
    response = client_for(personas.owner).get("/a/acme/audit.csv")
    text = b"".join(response.streaming_content).decode()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'=cmd|' /C calc'!A0@x.test" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_an_activity_range_starting_in_year_one_falls_back_with_a_notice(client_for, personas):
    response = client_for(personas.member).get(
        "/a/acme/activity/", {"range": "custom", "start": "0001-01-01", "end": "0001-01-31"}
    )
    assert response.status_code == 200
    assert b"start must be 2000-01-01 or later" in response.content
