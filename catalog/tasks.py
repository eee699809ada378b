from celery import shared_task

from catalog.models import PolicySource, RefreshRun
from catalog.refresh.jobs import claim_due_sources, refresh_many
from catalog.refresh.sources import purge_old_snapshots


@shared_task(ignore_result=True)
def refresh_due_sources():
    """Beat: refresh every enabled source whose scheduled (jittered) time has come."""
    refresh_many(claim_due_sources())


@shared_task(ignore_result=True, acks_late=True)
def refresh_run(run_id: int, source_ids: list[int]):
    """A "refresh now" from the browser; its RefreshRun row shows the progress."""
    run = RefreshRun.objects.get(pk=run_id)
    if run.finished_at is not None:  # delivered twice: the first delivery did the work
        return
    refresh_many(PolicySource.objects.filter(pk__in=source_ids), run=run)


@shared_task(ignore_result=True)
def purge_snapshots():
    """Beat: drop raw bodies past SNAPSHOT_RETENTION_DAYS that no kept text came from."""
    purge_old_snapshots()
