"""Slows password guessing: at most LOGIN_FAILURE_LIMIT password checks for one email (and four
times that for one address) until LOGIN_LOCKOUT_SECONDS have passed since the last attempt.

An attempt takes its place in the count *before* the password is checked, in one atomic
statement, so parallel guesses cannot all pass a check made before any of them failed. The
counters live in the database, which sign-in needs anyway, not in the cache.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from dashboard.models import LoginAttempts

# One address may be shared by many people (an office NAT), so it gets a larger allowance.
IP_ALLOWANCE_FACTOR = 4

_TABLE = LoginAttempts._meta.db_table
_COUNT_ATTEMPT = (
    f"INSERT INTO {_TABLE} (subject, attempts, expires) VALUES (%s, 1, %s) "  # noqa: S608
    f"ON CONFLICT (subject) DO UPDATE SET attempts = CASE WHEN {_TABLE}.expires < %s THEN 1 "
    f"ELSE {_TABLE}.attempts + 1 END, expires = excluded.expires RETURNING attempts"
)


def _keys(email: str, ip: str | None) -> tuple[str, str]:
    # Hashed so the database never holds what people typed into the email field.
    email_digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"email:{email_digest}", f"ip:{ip or 'unknown'}"


def allow_attempt(email: str, ip: str | None) -> bool:
    """Count one sign-in attempt; False when it is over the limit and must not be checked."""
    email_key, ip_key = _keys(email, ip)
    limit = settings.LOGIN_FAILURE_LIMIT
    return _count(email_key) <= limit and _count(ip_key) <= limit * IP_ALLOWANCE_FACTOR


def _count(subject: str) -> int:
    now = timezone.now()
    expires = now + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_ATTEMPT, [subject, adapt(expires), adapt(now)])
        return cursor.fetchone()[0]


def succeeded(email: str, ip: str | None) -> None:
    """A right password: the email starts afresh, and the address gets its attempt back."""
    email_key, ip_key = _keys(email, ip)
    LoginAttempts.objects.filter(subject=email_key).delete()
    LoginAttempts.objects.filter(subject=ip_key, attempts__gt=0).update(attempts=F("attempts") - 1)


def purge_expired() -> int:
    return LoginAttempts.objects.filter(expires__lt=timezone.now()).delete()[0]


def lockout_minutes() -> int:
    return max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
