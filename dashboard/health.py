"""What /healthz reports: each dependency checked cheaply, never blocking on a slow one."""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app

HEARTBEAT_CACHE_KEY = "worker-heartbeat"


def record_heartbeat() -> None:
    cache.set(HEARTBEAT_CACHE_KEY, timezone.now().isoformat(), timeout=None)


def _check(probe) -> dict:
    try:
        return {"ok": True, **(probe() or {})}
    except Exception as exc:  # any failure is the answer, not a crash
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _cache():
    cache.set("healthz-probe", "1", timeout=10)
    if cache.get("healthz-probe") != "1":
        raise RuntimeError("cache did not return what was written")


def _broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "in-process"}
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"mode": "redis"}


def _worker():
    """Workers prove they are alive by a heartbeat task that beat schedules; see dashboard.tasks."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "in-process"}
    seen = cache.get(HEARTBEAT_CACHE_KEY)
    if seen is None:
        raise RuntimeError("no worker heartbeat yet")
    age = timezone.now() - datetime.fromisoformat(seen)
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        raise RuntimeError(f"last worker heartbeat {int(age.total_seconds())} s ago")
    return {"last_heartbeat": seen}


def _catalog():
    from catalog.policy.snapshot import get_catalog

    catalog = get_catalog()
    return {"version": catalog.version, "models": len(catalog.models())}


def report() -> dict:
    return {
        "database": _check(_database),
        "catalog": _check(_catalog),
        "cache": _check(_cache),
        "broker": _check(_broker),
        "worker": _check(_worker),
    }
