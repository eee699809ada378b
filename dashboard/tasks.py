from celery import shared_task
from django.db import DatabaseError

from . import exceptions, notifications
from .health import record_heartbeat


@shared_task(ignore_result=True)
def record_worker_heartbeat():
    record_heartbeat()


@shared_task
def echo(value: str) -> str:
    """Round-trips a value through the broker and a worker; healthz and CI use it."""
    return value


# Transient failures only (database, broker, mail server); each task's work is claimed per item,
# so a retry redoes only what did not happen.
RETRY = {
    "autoretry_for": (DatabaseError, OSError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(ignore_result=True, **RETRY)
def expire_exceptions():
    exceptions.expire_due()
    exceptions.warn_expiring()


@shared_task(ignore_result=True, **RETRY)
def notify_catalog_change(before: int, after: int):
    notifications.notify_catalog_change(before, after)
