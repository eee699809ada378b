from celery import shared_task

from core.tasks import RETRY
from dashboard import exceptions, inquiries, login_throttle, notifications, settings_review
from dashboard.health import record_heartbeat


@shared_task(ignore_result=True)
def record_worker_heartbeat():
    record_heartbeat()


@shared_task
def echo(value: str) -> str:
    """Round-trips a value through the broker and a worker; healthz and CI use it."""
    return value


@shared_task(ignore_result=True, **RETRY)
def expire_exceptions():
    exceptions.expire_due()
    exceptions.warn_expiring()


@shared_task(ignore_result=True, **RETRY)
def notify_catalog_change(before: int, after: int):
    notifications.notify_catalog_change(before, after)


@shared_task(ignore_result=True, **RETRY)
def purge_closed_inquiries():
    inquiries.purge_expired()


@shared_task(ignore_result=True, **RETRY)
def remind_settings_reviews():
    settings_review.remind_due()


@shared_task(ignore_result=True, **RETRY)
def purge_login_attempts():
    login_throttle.purge_expired()
