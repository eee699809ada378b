"""Notifications: one per member, email unless muted, the bell, the list, and what an approved
catalog change tells each account."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.models import CatalogState, PolicyVersion
from catalog.review.versions import approve, propose, reject
from dashboard.models import AuditEvent, EmailMute, Notification, PrivacyDefaults
from dashboard.notifications import notify, notify_catalog_change
from tests.catalog.conftest import NEW_PROVIDER, SMALL_CATALOG

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
ACME_PEOPLE = ["admin@acme.test", "member@acme.test", "owner@acme.test"]


@pytest.fixture
def catalog(small_catalog):
    return small_catalog


@pytest.fixture
def send(personas, django_capture_on_commit_callbacks):
    """`send(kind)`: notify Acme and run the after-commit email sending."""

    def send(kind=Kind.CATALOG_CHANGE, title="Something changed", account=None):
        with django_capture_on_commit_callbacks(execute=True):
            return notify(account or personas.account, kind, title, "Details.", "/catalog/")

    return send


def _recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- notify ------------------------------------------------------------------------------------


def test_notify_creates_one_notification_per_member_and_emails_each(personas, send):
    send(title="Month AI now keeps nothing")
    notifications = Notification.objects.filter(account=personas.account)
    assert sorted(n.user.email for n in notifications) == ACME_PEOPLE
    assert _recipients() == ACME_PEOPLE
    assert all(len(message.to) == 1 for message in mail.outbox)
    message = mail.outbox[0]
    assert message.subject == "Month AI now keeps nothing"
    assert "Details." in message.body and "/catalog/" in message.body
    assert "/notifications/" in message.body


def test_a_muted_kind_is_not_emailed_but_still_shown(personas, send):
    EmailMute.objects.create(user=personas.member, kind=Kind.CATALOG_CHANGE)
    send(Kind.CATALOG_CHANGE)
    send(Kind.PROVIDER_JOINED)
    assert Notification.objects.filter(user=personas.member).count() == 2
    assert [m.subject for m in mail.outbox if m.to == ["member@acme.test"]] == ["Something changed"]
    assert len(mail.outbox) == 5


def test_nothing_is_emailed_when_the_work_is_rolled_back(personas):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        notify(personas.account, Kind.CATALOG_CHANGE, "never", "", "")
        raise RuntimeError
    assert mail.outbox == [] and not Notification.objects.exists()


def test_another_accounts_members_are_not_told(personas, send):
    send()
    assert not Notification.objects.filter(user=personas.outsider).exists()
    assert "outsider@globex.test" not in _recipients()


# --- The bell ----------------------------------------------------------------------------------


def _bell(response) -> str | None:
    page = response.content.decode()
    marker = 'data-testid="unread-count"><span class="sr-only">, </span>'
    if marker not in page:
        return None
    return page.split(marker)[1].split("<")[0]


def test_the_bell_shows_the_unread_count(client_for, personas, send):
    client = client_for(personas.member)
    assert _bell(client.get("/a/acme/")) is None
    send()
    send()
    assert _bell(client.get("/a/acme/")) == "2"
    Notification.objects.filter(user=personas.member).first().delete()
    assert _bell(client.get("/a/acme/")) == "1"


def test_the_bell_costs_one_query_however_many_notifications_there_are(client_for, personas, send):
    client = client_for(personas.member)
    client.get("/a/acme/")
    send()
    with CaptureQueriesContext(connection) as one:
        client.get("/a/acme/")
    for _ in range(15):
        send()
    with CaptureQueriesContext(connection) as many:
        response = client.get("/a/acme/")
    assert _bell(response) == "16"
    assert len(many) == len(one)
    bell = [q["sql"] for q in many if "dashboard_notification" in q["sql"]]
    assert len(bell) == 1 and "COUNT(" in bell[0].upper()


# --- The list ----------------------------------------------------------------------------------


def test_the_list_needs_a_sign_in(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_list_shows_only_my_own_notifications(client_for, personas, send):
    send(title="For Acme")
    send(title="For Globex", account=personas.other_account)
    page = client_for(personas.member).get("/notifications/").content.decode()
    assert "For Acme" in page and "For Globex" not in page


def test_marking_one_read_marks_only_that_one(client_for, personas, send):
    send(title="first")
    send(title="second")
    mine = Notification.objects.filter(user=personas.member)
    first = mine.get(title="first")
    client = client_for(personas.member)
    assert client.post(f"/notifications/{first.pk}/read/").status_code == 302
    assert list(mine.filter(read_at__isnull=False)) == [first]
    assert not Notification.objects.filter(user=personas.owner, read_at__isnull=False).exists()


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client_for, personas, send):
    send()
    notification = Notification.objects.get(user=personas.member)
    response = client_for(personas.member).post(
        f"/notifications/{notification.pk}/read/", {"open": "1"}
    )
    assert response.status_code == 302 and response.url == "/catalog/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_an_offsite_url_is_never_followed(client_for, personas):
    notification = Notification.objects.create(
        account=personas.account,
        user=personas.member,
        kind=Kind.CATALOG_CHANGE,
        title="t",
        url="https://evil.example/",
    )
    response = client_for(personas.member).post(
        f"/notifications/{notification.pk}/read/", {"open": "1"}
    )
    assert response.url == "/notifications/"


def test_another_users_notification_is_404(client_for, personas, send):
    send(account=personas.other_account)
    theirs = Notification.objects.get(user=personas.outsider)
    response = client_for(personas.member).post(f"/notifications/{theirs.pk}/read/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_is_post_only(client_for, personas, send):
    send()
    notification = Notification.objects.get(user=personas.member)
    client = client_for(personas.member)
    assert client.get(f"/notifications/{notification.pk}/read/").status_code == 405
    assert client.get("/notifications/read-all/").status_code == 405


def test_mark_all_read_marks_only_mine(client_for, personas, send):
    send()
    send()
    client = client_for(personas.member)
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(user=personas.member, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=personas.owner, read_at__isnull=True).count() == 2
    assert _bell(client.get("/notifications/")) is None


def test_the_list_makes_a_fixed_number_of_queries(client_for, personas, send):
    client = client_for(personas.member)
    send()
    client.get("/notifications/")
    with CaptureQueriesContext(connection) as one:
        client.get("/notifications/")
    for _ in range(20):
        send(account=personas.account)
    with CaptureQueriesContext(connection) as many:
        client.get("/notifications/")
    assert len(many) == len(one)


# --- Email preferences -------------------------------------------------------------------------


def test_email_preferences_mute_and_unmute_each_kind_and_are_audited(client_for, personas):
    def muted():
        return sorted(EmailMute.objects.filter(user=personas.member).values_list("kind", flat=True))

    client = client_for(personas.member)
    client.post("/notifications/email/", {"kinds": [Kind.CATALOG_CHANGE, Kind.PROVIDER_JOINED]})
    assert muted() == sorted(set(Kind.values) - {Kind.CATALOG_CHANGE, Kind.PROVIDER_JOINED})
    client.post("/notifications/email/", {"kinds": [Kind.CATALOG_CHANGE]})
    assert muted() == sorted(set(Kind.values) - {Kind.CATALOG_CHANGE})
    client.post("/notifications/email/", {"kinds": list(Kind.values)})
    assert muted() == []
    events = AuditEvent.objects.filter(action="notifications.email_muted", actor=personas.member)
    assert events.count() == 3
    assert not EmailMute.objects.exclude(user=personas.member).exists()


def test_saving_unchanged_preferences_records_nothing(client_for, personas):
    client_for(personas.member).post("/notifications/email/", {"kinds": list(Kind.values)})
    assert not AuditEvent.objects.filter(action="notifications.email_muted").exists()


def test_the_page_shows_which_kinds_are_emailed(client_for, personas):
    EmailMute.objects.create(user=personas.member, kind=Kind.PROVIDER_JOINED)
    page = client_for(personas.member).get("/notifications/").content.decode()
    boxes = {
        line.split('value="')[1].split('"')[0]: "checked" in line
        for line in page.split("<input")
        if 'name="kinds"' in line
    }
    assert boxes == {kind: kind != Kind.PROVIDER_JOINED for kind in Kind.values}


# --- Catalog changes ---------------------------------------------------------------------------


@pytest.fixture
def defaults(personas):
    """Acme requires zero retention: safe-ai only. Globex is `internal`: safe-ai and month-ai
    for acme/chat; acme/tiny@month-ai keeps data 90 days, so not that one."""
    PrivacyDefaults.objects.create(account=personas.account, require=["zero-retention"])
    PrivacyDefaults.objects.create(account=personas.other_account, classification="internal")


def _change(provider, reviewer, **fields):
    current = PolicyVersion.objects.current().get(provider__slug=provider, endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    proposal = propose(current.provider, None, {**content, **fields}, origin="manual")
    return approve(proposal, reviewer, "verified against the new terms")


def test_an_approval_notifies_exactly_the_accounts_whose_eligible_set_changed(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _change("month-ai", personas.reviewer, retention="zero", retention_days=None)
    told = Notification.objects.filter(kind=Kind.CATALOG_CHANGE)
    assert {n.account for n in told} == {personas.account}
    assert sorted(n.user.email for n in told) == ACME_PEOPLE
    notification = told.first()
    assert "1 now allowed" in notification.title
    assert "Now allowed (1 endpoint):\n- month-ai: acme/chat" in notification.body
    assert "acme/tiny" not in notification.body  # its override still keeps 90 days
    assert notification.url == "/catalog/changes/?provider=month-ai"
    assert _recipients() == ACME_PEOPLE


def test_losing_endpoints_is_named_too(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _change("safe-ai", personas.reviewer, retention="days", retention_days=7)
    acme = Notification.objects.get(user=personas.owner)
    assert "No longer allowed (1 endpoint):\n- safe-ai: acme/chat" in acme.body
    assert "Now allowed" not in acme.body
    # Globex allows up to 30 days: safe-ai stays eligible for it, so it is not told.
    assert not Notification.objects.filter(account=personas.other_account).exists()


def test_muted_members_get_the_notification_without_the_email(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    EmailMute.objects.create(user=personas.admin, kind=Kind.CATALOG_CHANGE)
    with django_capture_on_commit_callbacks(execute=True):
        _change("month-ai", personas.reviewer, retention="zero", retention_days=None)
    assert Notification.objects.filter(user=personas.admin).count() == 1
    assert _recipients() == ["member@acme.test", "owner@acme.test"]


def test_a_change_that_moves_no_account_tells_nobody(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _change("free-ai", personas.reviewer, regions=["us", "eu"])
    assert not Notification.objects.exists() and mail.outbox == []


def test_proposals_and_rejections_tell_nobody(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    current = PolicyVersion.objects.current().get(provider__slug="month-ai", endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    with django_capture_on_commit_callbacks(execute=True):
        changed = {**content, "retention": "zero", "retention_days": None}
        proposal = propose(current.provider, None, changed, origin="manual")
        reject(proposal, personas.reviewer, "the page says otherwise")
    assert not Notification.objects.exists()


def test_the_initial_import_tells_nobody(personas, defaults, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Loader().load(parse_catalog(SMALL_CATALOG))
    assert not Notification.objects.exists()


def test_running_the_same_change_twice_tells_each_account_once(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = _change("month-ai", personas.reviewer, retention="zero", retention_days=None)
    notify_catalog_change(version.catalog_version - 1, version.catalog_version)
    assert Notification.objects.filter(kind=Kind.CATALOG_CHANGE).count() == 3


def test_the_comparison_uses_the_catalog_as_it_was_not_as_it_is(personas, catalog, defaults):
    before = CatalogState.current_version()
    _change("month-ai", personas.reviewer, retention="zero", retention_days=None)
    _change("month-ai", personas.reviewer, retention="days", retention_days=30)
    # Between before+1 and before+2, month-ai went back to 30 days: Acme lost it again.
    notify_catalog_change(before + 1, before + 2)
    notification = Notification.objects.get(user=personas.owner)
    assert "No longer allowed (1 endpoint):\n- month-ai: acme/chat" in notification.body
    # Overall nothing changed for anyone.
    Notification.objects.all().delete()
    notify_catalog_change(before, before + 2)
    assert not Notification.objects.exists()


def test_a_new_provider_is_announced_to_every_account(
    personas, catalog, defaults, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Loader(approve_as=personas.reviewer).load(parse_catalog(NEW_PROVIDER))
    joined = Notification.objects.filter(kind=Kind.PROVIDER_JOINED)
    assert sorted(n.user.email for n in joined) == sorted([*ACME_PEOPLE, "outsider@globex.test"])
    notification = joined.first()
    assert notification.title == "New provider: New AI"
    assert "stays excluded under any constraint its unknown policy can't prove" in (
        notification.body
    )
    assert "safety_retention" in notification.body and "publishes_prompts" in notification.body
    assert notification.url == "/catalog/providers/new-ai/"


def test_a_providers_second_version_is_not_announced_as_new(
    personas, catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _change("month-ai", personas.reviewer, retention="zero", retention_days=None)
    assert not Notification.objects.filter(kind=Kind.PROVIDER_JOINED).exists()


def test_a_long_change_is_listed_by_provider_and_cut_short():
    from dashboard.notifications import MAX_LISTED, _by_provider

    ids = {f"acme/m{n:02}@bedrock" for n in range(MAX_LISTED + 5)} | {"acme/chat@azure"}
    lines = _by_provider(ids)
    assert lines[0] == "- azure: acme/chat"
    assert lines[1].startswith("- bedrock: acme/m00, acme/m01,")
    assert lines[-1] == "- and 6 more"
