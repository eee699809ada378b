"""Enqueueing that neither loses a task nor fails a request when the broker is unreachable.

`enqueue` writes the task into the outbox in the caller's transaction and sends it after the
commit; when the broker refuses, the row stays and `send_waiting` (a beat task) sends it again
once the broker is back. A task may so run twice, never zero times: tasks are idempotent.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.models import OutboxTask

log = logging.getLogger(__name__)

# A task younger than this may still be on its way from the request that wrote it.
GRACE = timedelta(seconds=30)
BATCH = 500


def enqueue(task, *args) -> None:
    """Send `task(*args)` once the current transaction commits; call inside that transaction."""
    if current_app.conf.task_always_eager:  # no broker: the task runs in-process on commit
        task.delay_on_commit(*args)
        return
    waiting = OutboxTask.objects.create(task=task.name, args=list(args))
    transaction.on_commit(lambda: _send(waiting))


def _send(waiting: OutboxTask) -> bool:
    try:
        current_app.send_task(waiting.task, args=waiting.args)
    except Exception as error:  # the broker's errors vary by transport; the row keeps the task
        log.warning("broker unavailable, %s waits in the outbox: %s", waiting.task, error)
        return False
    try:
        OutboxTask.objects.filter(pk=waiting.pk).delete()
    except DatabaseError:  # sent anyway; it may be sent once more, which tasks allow
        log.warning("sent %s but could not clear it from the outbox", waiting.task)
    return True


def send_waiting(now=None) -> int:
    """Send the tasks that a failed enqueue left behind; returns how many went out."""
    cutoff = (now or timezone.now()) - GRACE
    sent = 0
    with transaction.atomic():
        due = OutboxTask.objects.select_for_update(skip_locked=True).filter(created__lt=cutoff)
        for waiting in due[:BATCH]:
            if not _send(waiting):
                OutboxTask.objects.filter(pk=waiting.pk).update(attempts=waiting.attempts + 1)
                break  # the broker is still away; the next run tries again
            sent += 1
    return sent
