"""One compiled catalog per process, rebuilt only when the catalog version changes.

Approvals raise the version in the database and publish it to the shared cache; each process
compares its snapshot's version with the cache's at most every CATALOG_VERSION_CHECK_SECONDS,
so a resolve usually touches neither the database nor the network.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction

from catalog.models import CatalogState
from catalog.policy import resolver
from catalog.policy.compile import Published, compile_snapshot

log = logging.getLogger(__name__)
VERSION_CACHE_KEY = "catalog:version"

_lock = threading.Lock()
# One reference to both halves, so a reader without the lock never pairs two versions.
_snapshot: tuple[resolver.Catalog, Published] | None = None
_checked_at = 0.0


def publish_version(version: int) -> None:
    cache.set(VERSION_CACHE_KEY, version, timeout=None)


def announce_change() -> None:
    """Call inside the transaction that raised the version; other processes see it on commit."""
    transaction.on_commit(lambda: publish_version(CatalogState.current_version()))


def shared_version() -> int:
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        version = CatalogState.current_version()
        publish_version(version)
    return version


def get_catalog() -> resolver.Catalog:
    return _current()[0]


def get_published() -> Published:
    """The evidence, notes, names and tags of the catalog `get_catalog` returns."""
    return _current()[1]


def get_both() -> tuple[resolver.Catalog, Published]:
    """The compiled catalog and its evidence, of one version."""
    return _current()


def _current() -> tuple[resolver.Catalog, Published]:
    """The process's snapshot, compiled on first use (and again on the next call if that
    failed). While neither the cache nor the database can say whether the catalog changed, a
    snapshot already compiled keeps answering."""
    global _snapshot, _checked_at
    now, current = time.monotonic(), _snapshot
    if current is not None and now - _checked_at < settings.CATALOG_VERSION_CHECK_SECONDS:
        return current
    try:
        version = shared_version()
    except DatabaseError:
        if current is None:
            raise
        log.warning(
            "catalog version unknown (database unavailable); serving version %s",
            current[0].version,
        )
        _checked_at = now
        return current
    with _lock:
        if _snapshot is None or _snapshot[0].version < version:
            _snapshot = compile_snapshot()
            if _snapshot[0].version > version:  # a lost publish: heal the shared value
                publish_version(_snapshot[0].version)
        _checked_at = now
        return _snapshot


def forget() -> None:
    """Drop this process's snapshot (tests, and after a bulk load in the same process)."""
    global _snapshot, _checked_at
    with _lock:
        _snapshot, _checked_at = None, 0.0
