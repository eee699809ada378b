"""A tiny per-process cache in front of the shared one, for what the gateway reads on every
request (API keys, account and key layers). Entries live HOT_CACHE_SECONDS, so a change made
in another process takes effect within that time; a change made in this process at once."""

import time

from django.conf import settings

MAX_ENTRIES = 10_000
_MISSING = object()


class LocalTTLCache:
    def __init__(self):
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str, default=_MISSING):
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return default
        return entry[1]

    def set(self, key: str, value) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # crude, but bounded, and refilled from the shared cache
        self._entries[key] = (time.monotonic() + settings.HOT_CACHE_SECONDS, value)

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


hot = LocalTTLCache()
MISSING = _MISSING
