"""Reviewing the privacy settings regularly: when they were last reviewed, the periodic reminder
to owners, and the sooner one when a provider joins or a catalog change alters what the
account's settings allow. The clock is moved with time-machine."""

from datetime import timedelta

import lxml.html
import pytest
import time_machine
from django.core import mail

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.models import PolicyVersion
from catalog.review.versions import approve, propose
from dashboard import settings_review
from dashboard.models import AuditEvent, EmailMute, Notification, PrivacyDefaults, SettingsReview
from tests.catalog.conftest import NEW_PROVIDER
from tests.dashboard.test_privacy_pages import _form

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


@pytest.fixture
def start(personas):
    """The clock runs from when the later of the two accounts was created."""
    return personas.other_account.created


def _at(start, days, hours=0):
    return time_machine.travel(start + timedelta(days=days, hours=hours), tick=False)


def _remind(start, days, hours=0) -> list[str]:
    """Run the hourly reminder job at that time; the slugs of the accounts reminded."""
    with _at(start, days, hours):
        return sorted(account.slug for account in settings_review.remind_due())


def _reminders(user=None):
    found = Notification.objects.filter(kind=Kind.SETTINGS_REVIEW).order_by("id")
    return found.filter(user=user) if user else found


# --- The schedule ------------------------------------------------------------------------------


def test_owners_are_reminded_ninety_days_after_the_account_was_created(personas, start):
    assert _remind(start, 89, 23) == []
    assert _remind(start, 90) == ["acme", "globex"]

    told = _reminders()
    assert sorted(n.user.email for n in told) == ["outsider@globex.test", "owner@acme.test"]
    reminder = told.get(user=personas.owner)
    assert reminder.title == "Time to review the privacy settings of Acme"
    assert "have not been reviewed since the account was created" in reminder.body
    assert reminder.url == "/a/acme/privacy/"


def test_a_reminder_is_sent_once_then_again_after_another_period(personas, start):
    assert _remind(start, 90) == ["acme", "globex"]
    assert _remind(start, 90, 1) == []
    assert _remind(start, 179) == []
    assert _remind(start, 180) == ["acme", "globex"]
    assert _reminders(personas.owner).count() == 2


def test_admins_and_members_get_no_reminder(personas, start):
    _remind(start, 90)
    assert not _reminders(personas.admin).exists() and not _reminders(personas.member).exists()


def test_confirming_unchanged_restarts_the_period(client_for, personas, start):
    with _at(start, 80):
        response = client_for(personas.owner).post("/a/acme/privacy/confirm/")
    assert response.status_code == 302 and response.url == "/a/acme/privacy/"
    assert _remind(start, 100) == ["globex"]
    assert _remind(start, 169) == []
    assert _remind(start, 170) == ["acme"]
    reminder = _reminders(personas.owner).get()
    assert "last reviewed 90 days ago" in reminder.body


def test_saving_the_settings_counts_as_a_review(client_for, personas, small_catalog, start):
    with _at(start, 60):
        response = client_for(personas.owner).post("/a/acme/privacy/", _form("confidential"))
    assert response.status_code == 302
    review = SettingsReview.objects.get(account=personas.account)
    assert (review.how, review.reviewed_by) == ("saved", personas.owner)
    assert _remind(start, 100) == ["globex"]
    assert _remind(start, 150) == ["acme"]


def test_saving_through_the_api_counts_as_a_review_too(personas, start):
    from dashboard import privacy

    with _at(start, 60):
        privacy.save_defaults(personas.account, {"retention_days": 7}, actor_label="api key x")
    event = AuditEvent.objects.get(action="privacy.settings_reviewed")
    assert (event.actor_label, event.after["how"]) == ("api key x", "saved")
    assert _remind(start, 100) == ["globex"]


def test_the_period_is_a_setting(personas, start, settings):
    settings.PRIVACY_REVIEW_INTERVAL_DAYS = 30
    assert _remind(start, 29) == []
    assert _remind(start, 30) == ["acme", "globex"]


def test_a_muted_reminder_is_shown_without_the_email(
    personas, start, django_capture_on_commit_callbacks
):
    EmailMute.objects.create(user=personas.owner, kind=Kind.SETTINGS_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        _remind(start, 90)
    assert _reminders(personas.owner).exists()
    assert [m.to for m in mail.outbox] == [["outsider@globex.test"]]


# --- Sooner, when the catalog moves ------------------------------------------------------------


def _change(provider, reviewer, **fields):
    current = PolicyVersion.objects.current().get(provider__slug=provider, endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    proposal = propose(current.provider, None, {**content, **fields}, origin="manual")
    return approve(proposal, reviewer, "verified against the new terms")


def test_a_new_provider_brings_the_reminder_forward_and_is_named(
    personas, small_catalog, start, django_capture_on_commit_callbacks
):
    with _at(start, 10), django_capture_on_commit_callbacks(execute=True):
        Loader(approve_as=personas.reviewer).load(parse_catalog(NEW_PROVIDER))
    assert _remind(start, 10, 1) == ["acme", "globex"]
    reminder = _reminders(personas.owner).get()
    assert "- New provider: New AI, with 1 endpoint" in reminder.body
    # Told once; the regular reminder still comes when the period is over.
    assert _remind(start, 11) == []
    assert _remind(start, 90) == ["acme", "globex"]


def test_a_change_to_the_eligible_endpoints_brings_it_forward_naming_them(
    personas, small_catalog, start, django_capture_on_commit_callbacks
):
    PrivacyDefaults.objects.create(account=personas.account, require=["zero-retention"])
    PrivacyDefaults.objects.create(account=personas.other_account, classification="internal")
    with _at(start, 20), django_capture_on_commit_callbacks(execute=True):
        version = _change("month-ai", personas.reviewer, retention="zero", retention_days=None)
    # Only Acme (zero retention) gains an endpoint; Globex already allowed month-ai.
    assert _remind(start, 20, 1) == ["acme"]
    reminder = _reminders(personas.owner).get()
    assert (
        f"- Catalog version {version.catalog_version} changed what your settings allow: "
        "now allowed (1 endpoint): month-ai: acme/chat"
    ) in reminder.body


def test_a_change_that_moves_nothing_brings_nothing_forward(
    personas, small_catalog, start, django_capture_on_commit_callbacks
):
    PrivacyDefaults.objects.create(account=personas.account, require=["zero-retention"])
    with _at(start, 20), django_capture_on_commit_callbacks(execute=True):
        _change("free-ai", personas.reviewer, regions=["us", "eu"])
    assert _remind(start, 21) == []


def test_reviewing_clears_what_was_pending(client_for, personas, start):
    with _at(start, 5):
        settings_review.flag(personas.account, "New provider: New AI, with 1 endpoint")
        client_for(personas.admin).post("/a/acme/privacy/confirm/")
    assert _remind(start, 6) == []
    review = SettingsReview.objects.get(account=personas.account)
    assert review.reasons == [] and review.flagged_at is None


def test_two_runs_at_once_remind_once(personas, start):
    with _at(start, 90):
        first = settings_review.remind_due()
        second = settings_review.remind_due()
    assert len(first) == 2 and second == []
    assert _reminders().count() == 2


# --- The privacy settings page -----------------------------------------------------------------


def _review_box(response):
    page = lxml.html.fromstring(response.content.decode())
    return page.xpath("//*[@data-testid='settings-review']")[0]


def test_the_page_says_when_the_settings_were_last_reviewed(
    client_for, personas, small_catalog, start
):
    client = client_for(personas.owner)
    box = _review_box(client.get("/a/acme/privacy/"))
    assert "Not yet: the account was created on" in box.text_content()
    assert box.xpath(".//button[text()='Confirm unchanged']")

    with _at(start, 3):
        client.post("/a/acme/privacy/confirm/")
    with _at(start, 4):
        box = _review_box(client.get("/a/acme/privacy/"))
    text = " ".join(box.text_content().split())
    reviewed = start + timedelta(days=3)
    due = reviewed + timedelta(days=90)
    assert f"{reviewed:%Y-%m-%d} by owner@acme.test (confirmed unchanged)" in text
    assert f"Next review due by {due:%Y-%m-%d}" in text


def test_the_page_lists_what_happened_since_and_says_a_review_is_due(
    client_for, personas, small_catalog
):
    settings_review.flag(personas.account, "New provider: New AI, with 1 endpoint")
    box = _review_box(client_for(personas.member).get("/a/acme/privacy/"))
    assert "A review is due." in box.text_content()
    assert box.xpath(".//li/text()") == ["New provider: New AI, with 1 endpoint"]
    assert not box.xpath(".//button"), "members only read the settings"


def test_confirming_is_for_owners_and_admins_and_is_audited(client_for, personas):
    assert client_for(personas.member).post("/a/acme/privacy/confirm/").status_code == 403
    assert not SettingsReview.objects.filter(reviewed_at__isnull=False).exists()
    assert client_for(personas.outsider).post("/a/acme/privacy/confirm/").status_code == 404
    assert client_for(personas.admin).post("/a/acme/privacy/confirm/").status_code == 302
    event = AuditEvent.objects.get(action="privacy.settings_reviewed")
    assert (event.account, event.actor, event.after["how"]) == (
        personas.account,
        personas.admin,
        "confirmed",
    )


def test_confirming_takes_a_post(client_for, personas):
    assert client_for(personas.owner).get("/a/acme/privacy/confirm/").status_code == 405
