"""Slows password guessing: after LOGIN_FAILURE_LIMIT failures for one email or one address,
sign-in is refused until LOGIN_LOCKOUT_SECONDS have passed since the last failure."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(email: str, ip: str | None) -> list[str]:
    # Hashed so the cache never holds what people typed into the email field.
    email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:email:{email_digest}", f"login-fail:ip:{ip or 'unknown'}"]


# One address may be shared by many people (an office NAT), so it gets a larger allowance.
IP_ALLOWANCE_FACTOR = 4


def is_locked(email: str, ip: str | None) -> bool:
    email_key, ip_key = _keys(email, ip)
    counts = cache.get_many([email_key, ip_key])
    limit = settings.LOGIN_FAILURE_LIMIT
    return counts.get(email_key, 0) >= limit or counts.get(ip_key, 0) >= limit * IP_ALLOWANCE_FACTOR


def record_failure(email: str, ip: str | None) -> None:
    for key in _keys(email, ip):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        cache.touch(key, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def clear(email: str, ip: str | None) -> None:
    cache.delete(_keys(email, ip)[0])


def lockout_minutes() -> int:
    return max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
