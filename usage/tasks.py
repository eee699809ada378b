from celery import shared_task

from core.tasks import RETRY
from usage import partitions, rankings


@shared_task(ignore_result=True, **RETRY)
def maintain_partitions():
    """Beat: create the coming days' raw-event partitions and drop those past retention."""
    partitions.maintain()


@shared_task(ignore_result=True, **RETRY)
def compute_rankings():
    """Beat: the anonymous model rankings of every finished day not yet ranked."""
    rankings.rank_pending_days()
