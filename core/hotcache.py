"""A tiny per-process cache in front of the shared one, for what the gateway reads on every
request (API keys, account and key layers). Entries live HOT_CACHE_SECONDS, so a change made
in another process takes effect within that time; a change made in this process at once."""

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

MAX_ENTRIES = 10_000
MISSING = object()


class LocalTTLCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._entries: dict[str, tuple[float, object]] = {}
        self.max_entries = max_entries

    def get(self, key: str, default=MISSING):
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return default
        return entry[1]

    def set(self, key: str, value) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude, but bounded, and refilled from the shared cache
        self._entries[key] = (time.monotonic() + settings.HOT_CACHE_SECONDS, value)

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


hot = LocalTTLCache()


def two_level(key: str, load: Callable[[], object], ttl: int | Callable[[object], int]):
    """This process's copy, else the shared cache's, else `load()` shared for `ttl` seconds (a
    number, or a function of the value). `load` must not return None: None means "not cached"."""
    value = hot.get(key)
    if value is MISSING:
        value = cache.get(key)
        if value is None:
            value = load()
            cache.set(key, value, timeout=max(1, ttl(value) if callable(ttl) else ttl))
        hot.set(key, value)
    return value


_built = LocalTTLCache()


def built_from[T](key: str, sources: tuple, build: Callable[..., T]) -> T:
    """`build(*sources)`, kept while the sources are the very objects it was built from: an entry
    of `two_level` stays the same object until it is reloaded, so what the hot path makes of it
    (a model instance, the resolver's layers) is made once per entry, not once per request."""
    entry = _built.get(key)
    if entry is not MISSING and all(a is b for a, b in zip(entry[0], sources, strict=True)):
        return entry[1]
    result = build(*sources)
    _built.set(key, (sources, result))
    return result


def forget(key: str) -> None:
    """Drop both levels' copies: this process sees the change at once, others on their next
    shared read (within HOT_CACHE_SECONDS)."""
    cache.delete(key)
    hot.delete(key)


# What was looked up and not found (random API-key prefixes from anyone): kept apart and
# smaller, so a flood of them can neither grow a cache nor push out what is really used.
misses = LocalTTLCache(max_entries=1_000)
