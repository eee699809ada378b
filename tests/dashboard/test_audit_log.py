import csv
import io

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from dashboard import audit
from dashboard.models import AuditEvent, AuditLogIsAppendOnly

pytestmark = pytest.mark.django_db


def test_audit_events_cannot_be_changed_through_the_orm(personas):
    event = audit.record("test.event", account=personas.account)
    event.action = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE dashboard_auditevent SET action = 'rewritten'",
        "DELETE FROM dashboard_auditevent",
    ],
)
def test_postgresql_itself_refuses_update_and_delete(personas, statement):
    audit.record("test.event", account=personas.account)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.filter(action="test.event").count() == 1


def test_the_audit_log_shows_who_what_when_and_from_where(client_for, personas):
    client = client_for(personas.owner)
    client.post(
        "/a/acme/keys/", {"name": "audited", "kind": "inference"}, REMOTE_ADDR="203.0.113.9"
    )
    page = client.get("/a/acme/audit/").content.decode()
    assert "owner@acme.test" in page and "apikey.created" in page and "203.0.113.9" in page


def test_the_audit_log_only_shows_this_accounts_events(client_for, personas):
    audit.record("other.secret_event", account=personas.other_account)
    page = client_for(personas.owner).get("/a/acme/audit/").content.decode()
    assert "other.secret_event" not in page


def test_the_audit_log_exports_as_csv(client_for, personas):
    audit.record(
        "test.event",
        account=personas.account,
        actor=personas.admin,
        target="x",
        before={"a": 1},
        after={"a": 2},
    )
    response = client_for(personas.owner).get("/a/acme/audit.csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["action"] == "test.event" and rows[0]["actor"] == "admin@acme.test"
    assert rows[0]["before"] == '{"a": 1}' and rows[0]["after"] == '{"a": 2}'


@pytest.mark.parametrize("events", [5, 120])
def test_the_audit_page_makes_a_fixed_number_of_queries(
    client_for, personas, events, django_assert_num_queries
):
    client = client_for(personas.owner)
    client.get("/a/acme/audit/")  # the first visit remembers the current account in the session
    for n in range(events):
        audit.record(f"test.event{n}", account=personas.account)
    # session, user, membership, count, page of events, navigation memberships, team check,
    # unread notifications for the bell
    with django_assert_num_queries(8):
        client.get("/a/acme/audit/")


def test_the_audit_log_says_what_happened_in_words_with_a_before_after_table(client_for, personas):
    import lxml.html

    from dashboard import privacy

    privacy.save_defaults(personas.account, {"classification": "public"})
    privacy.save_defaults(
        personas.account,
        {
            "classification": "confidential",
            "require": ["no-safety-retention"],
            "training_allowed": False,
        },
    )

    page = lxml.html.fromstring(client_for(personas.owner).get("/a/acme/audit/").content.decode())
    newest = page.xpath(
        "//table[contains(@class,'audit')]/tbody/tr[.//code='privacy.defaults_changed']"
    )[0]
    what = " ".join(newest.xpath("td[@data-label='What']")[0].text_content().split())
    rows = [
        [" ".join(td.text_content().split()) for td in tr.xpath("td")]
        for tr in newest.xpath(".//table[@data-testid='audit-change']/tbody/tr")
    ]
    assert what.startswith("Changed the privacy settings")
    assert ["Data class", "public", "confidential"] in rows
    assert ["Providers that may train", "not set", "blocked"] in rows
    assert ["Required of every endpoint", "none", "no-safety-retention"] in rows
    assert "{" not in newest.text_content()  # no raw JSON


def test_raw_values_read_as_words():
    from dashboard.audit_words import change_rows, words

    assert words("flagged_only") == "flagged only"
    assert words("2026-12-01T10:42:58.849128+00:00") == "2026-12-01 10:42 UTC"
    assert words(["us", "eu"]) == "us, eu" and words([]) == "none" and words(None) == "not set"
    rows = change_rows({"retention_days": None}, {"retention_days": 0})
    assert [(r.field, r.before, r.after) for r in rows] == [
        ("Most days a provider may keep data", "no limit", "0 (zero retention)")
    ]
