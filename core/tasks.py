"""What every app's Celery tasks share."""

from celery import shared_task
from django.db import DatabaseError

# Transient failures only (database, broker, mail server); each task's work is claimed per item,
# so a retry redoes only what did not happen.
RETRY = {
    "autoretry_for": (DatabaseError, OSError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(ignore_result=True)
def send_outbox():
    from core.outbox import send_waiting

    send_waiting()
