from celery import shared_task

from .health import record_heartbeat


@shared_task(ignore_result=True)
def record_worker_heartbeat():
    record_heartbeat()


@shared_task
def echo(value: str) -> str:
    """Round-trips a value through the broker and a worker; healthz and CI use it."""
    return value
