"""One compiled catalog per process, rebuilt only when the catalog version changes.

Approvals raise the version in the database and publish it to the shared cache; each process
compares its snapshot's version with the cache's at most every CATALOG_VERSION_CHECK_SECONDS,
so a resolve usually touches neither the database nor the network.
"""

import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from catalog.models import CatalogState
from catalog.policy import resolver
from catalog.policy.compile import compile_catalog

VERSION_CACHE_KEY = "catalog:version"

_lock = threading.Lock()
_snapshot: resolver.Catalog | None = None
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
    global _snapshot, _checked_at
    now = time.monotonic()
    if _snapshot is not None and now - _checked_at < settings.CATALOG_VERSION_CHECK_SECONDS:
        return _snapshot
    version = shared_version()
    with _lock:
        if _snapshot is None or _snapshot.version < version:
            _snapshot = compile_catalog()
            if _snapshot.version > version:  # a lost publish: heal the shared value
                publish_version(_snapshot.version)
        _checked_at = now
        return _snapshot


def forget() -> None:
    """Drop this process's snapshot (tests, and after a bulk load in the same process)."""
    global _snapshot, _checked_at
    with _lock:
        _snapshot, _checked_at = None, 0.0
