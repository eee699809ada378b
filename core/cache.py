"""The shared cache, on purpose never a reason for a request to fail.

Everything kept in Redis can be recomputed from the database (API keys, privacy layers, the
catalog version) or is an optimisation (last-use marks), so when Redis is unreachable each
operation answers as if the key were missing and the caller falls back to the database. After
a failure the cache is skipped for CACHE_RETRY_SECONDS, so an outage costs one timeout per
process per interval, not one per call.
"""

import logging
import threading
import time
from functools import wraps

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class _Breaker:
    def __init__(self):
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self, error: Exception) -> None:
        with self._lock:
            if not self.is_open:
                log.warning(
                    "cache unavailable, using the database for %ss: %s", RETRY_SECONDS, error
                )
            self._open_until = time.monotonic() + RETRY_SECONDS


def _missing_key(*args):
    raise ValueError("cache unavailable")  # incr's own answer for a key it cannot find


# What each operation answers while the cache is unreachable: what it answers for a missing key.
FALLBACKS = {
    "add": lambda *a: False,
    "get": lambda key, default: default,
    "set": lambda *a: None,
    "touch": lambda *a: False,
    "delete": lambda *a: False,
    "get_many": lambda *a: {},
    "has_key": lambda *a: False,
    "incr": _missing_key,
    "set_many": lambda *a: None,
    "delete_many": lambda *a: None,
    "clear": lambda *a: False,
}


def _guarded(name):
    operation, fallback = getattr(RedisCacheClient, name), FALLBACKS[name]

    @wraps(operation)
    def guarded(self, *args):
        if self.breaker.is_open:
            return fallback(*args)
        try:
            return operation(self, *args)
        except (self._lib.RedisError, OSError) as error:
            self.breaker.trip(error)
            return fallback(*args)

    return guarded


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.breaker = _Breaker()


for _name in FALLBACKS:
    setattr(ResilientRedisCacheClient, _name, _guarded(_name))


class ResilientRedisCache(RedisCache):
    """Django's Redis cache whose errors read as misses (see the module docstring)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient

    @property
    def available(self) -> bool:
        """False while the cache is being skipped after a failure (for /healthz)."""
        return not self._cache.breaker.is_open
