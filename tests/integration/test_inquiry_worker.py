"""The inquiry retention beat task through Redis on a real Celery worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard import inquiries
from dashboard.models import (
    Account,
    AuditEvent,
    Inquiry,
    InquiryMessage,
    Membership,
    Notification,
)
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("worker")]


def _ask(user, subject):
    membership = Membership.objects.select_related("account", "user").get(user=user)
    return inquiries.open_inquiry(membership, subject, "Does Month AI keep flagged content?")


def test_the_worker_deletes_closed_inquiries_past_retention_and_keeps_the_rest(
    personas, celery_worker_process
):
    from dashboard.tasks import purge_closed_inquiries

    expired, recent, still_open = (
        _ask(personas.member, name) for name in ("expired", "recent", "open")
    )
    now = timezone.now()
    Inquiry.objects.filter(pk=expired.pk).update(status="closed", closed_at=now - timedelta(400))
    Inquiry.objects.filter(pk=recent.pk).update(status="closed", closed_at=now - timedelta(10))
    Inquiry.objects.filter(pk=still_open.pk).update(created=now - timedelta(900))

    purge_closed_inquiries.delay()

    gone = wait_for(lambda: not Inquiry.objects.filter(pk=expired.pk).exists(), timeout=60)
    assert gone, "the worker did not purge the expired inquiry within 60 s"
    assert set(Inquiry.objects.values_list("pk", flat=True)) == {recent.pk, still_open.pk}
    assert not InquiryMessage.objects.filter(inquiry_id=expired.pk).exists()
    assert AuditEvent.objects.filter(
        action="inquiry.deleted", target=f"inquiry #{expired.pk}", actor_label="retention"
    ).exists()


def test_the_worker_reminds_owners_whose_settings_are_due_a_review(personas, celery_worker_process):
    from dashboard.tasks import remind_settings_reviews

    Account.objects.filter(pk=personas.account.pk).update(
        created=timezone.now() - timedelta(days=100)
    )

    remind_settings_reviews.delay()

    reminded = wait_for(
        lambda: Notification.objects.filter(kind="settings_review").first(), timeout=60
    )
    assert reminded, "the worker sent no reminder within 60 s"
    assert (reminded.user, reminded.account) == (personas.owner, personas.account)


def test_the_beat_schedule_runs_the_purge_and_the_reminders(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "dashboard.tasks.purge_closed_inquiries" in tasks
    assert "dashboard.tasks.remind_settings_reviews" in tasks
