"""Refreshing many sources at once: one thread per host so no host ever sees two requests at a
time from one run, at most REFRESH_CONCURRENCY hosts at once, and a cache lock per host so
overlapping runs (beat and a "refresh now") take turns too."""

import logging
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import PolicySource, RefreshRun
from catalog.refresh.pipeline import (
    CHANGED,
    FAILED,
    FETCHED,
    UNCHANGED,
    Failure,
    record_failure,
    refresh_source,
)

HOST_LOCK_SECONDS = 120
logger = logging.getLogger(__name__)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _acquire_host(host: str) -> str | None:
    """Wait for the host's lock (another run may be fetching from it); None on timeout."""
    key = f"refresh-host:{host}"
    deadline = time.monotonic() + HOST_LOCK_SECONDS
    while not cache.add(key, 1, timeout=HOST_LOCK_SECONDS):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    return key


def _refresh_isolated(source_id: int) -> str:
    """One source's run; whatever it raises is its own failure, recorded as such, and the run
    goes on with the next source."""
    try:
        return refresh_source(source_id)
    except Exception as exc:  # noqa: BLE001 - one hostile source must never stop a run
        logger.exception("refreshing source %s crashed", source_id)
        source = PolicySource.objects.filter(pk=source_id).first()
        if source is None:
            return FAILED
        return record_failure(source, Failure("internal", f"{type(exc).__name__}: {exc}"))


def _refresh_host(host, source_ids, record, close=True) -> None:
    """The host's sources one after another, holding its lock for the whole turn."""
    try:
        lock = _acquire_host(host)
        if lock is None:
            for _ in source_ids:
                record(FAILED)
            return
        try:
            for count, source_id in enumerate(source_ids, start=1):
                record(_refresh_isolated(source_id))
                if count % 10 == 0:  # renewed now and then: a turn may outlast the lock
                    cache.touch(lock, timeout=HOST_LOCK_SECONDS)
        finally:
            cache.delete(lock)
    finally:
        if close:  # each thread has its own connection; the caller's stays open
            connection.close()


def refresh_many(sources, *, run: RefreshRun | None = None, progress=None) -> dict:
    """Refresh the given sources; returns {"fetched", "unchanged", "changed", "failed"}."""
    by_host = defaultdict(list)
    for source in sources:
        by_host[host_of(source.url)].append(source.pk)
    counts = {FETCHED: 0, UNCHANGED: 0, CHANGED: 0, FAILED: 0}
    lock = threading.Lock()

    def record(outcome: str) -> None:
        with lock:
            counts[outcome] += 1
            if outcome in (UNCHANGED, CHANGED):  # every successful fetch counts as fetched
                counts[FETCHED] += 1
        _advance(run, outcome)
        if progress:
            progress(outcome)

    if connection.vendor == "sqlite":  # one writer at a time: threads would only wait on locks
        for host, ids in by_host.items():
            _refresh_host(host, ids, record, close=False)
    else:
        workers = max(1, min(settings.REFRESH_CONCURRENCY, len(by_host)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh") as pool:
            jobs = [pool.submit(_refresh_host, h, ids, record) for h, ids in by_host.items()]
            for job in jobs:
                job.result()
        close_old_connections()
    _finish(run)
    return counts


def _advance(run, outcome) -> None:
    if run is None:
        return
    field = {CHANGED: "changed", UNCHANGED: "unchanged", FAILED: "failed"}.get(outcome)
    updates = {"done": F("done") + 1}
    if field:
        updates[field] = F(field) + 1
    RefreshRun.objects.filter(pk=run.pk).update(**updates)


def _finish(run) -> None:
    if run is not None:
        RefreshRun.objects.filter(pk=run.pk).update(finished_at=timezone.now())


def next_run_time(source: PolicySource, now=None):
    """The source's interval with up to ±10 % jitter, so sources spread out over time."""
    interval = timedelta(hours=source.interval_hours)
    jitter = interval.total_seconds() * random.uniform(-0.1, 0.1)  # noqa: S311 - not security
    return (now or timezone.now()) + interval + timedelta(seconds=jitter)


def claim_due_sources(now=None) -> list[PolicySource]:
    """Sources whose turn has come, each claimed by a conditional update so two schedulers
    never refresh the same source twice."""
    now = now or timezone.now()
    due = PolicySource.objects.filter(enabled=True).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    )
    claimed = []
    for source in due.select_related("provider"):
        won = PolicySource.objects.filter(pk=source.pk, next_run_at=source.next_run_at).update(
            next_run_at=next_run_time(source, now)
        )
        if won:
            claimed.append(source)
    return claimed
