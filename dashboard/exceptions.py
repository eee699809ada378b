"""Time-boxed provider exceptions: an owner re-admits one provider, for the account or one of its
keys, until a date. Creating, revoking and expiring are audited, and each drops the account's
cached layers (dashboard.privacy) so the gateway sees the change at once.

Expiry and the warning a day before run from the beat task `expire_exceptions`; each exception is
claimed with a conditional update, so however many workers sweep, one of them tells the account.
"""

from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard import audit, notifications, privacy
from dashboard.models import Notification, ProviderException

MAX_DURATION = timedelta(days=90)
WARN_BEFORE = timedelta(hours=24)


def _described(exception: ProviderException) -> dict:
    return {
        "provider": exception.provider,
        "key": exception.key.prefix if exception.key_id else None,
        "until": exception.until.isoformat(),
        "reason": exception.reason,
    }


@transaction.atomic
def create_exception(account, *, provider, until, reason, key=None, request=None):
    user = getattr(request, "user", None)
    exception = ProviderException.objects.create(
        account=account,
        key=key,
        provider=provider,
        until=until,
        reason=reason,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    audit.record(
        "exception.created",
        account=account,
        request=request,
        target=str(exception),
        after=_described(exception),
    )
    privacy.forget_now_and_after_commit(privacy.forget_account, account.pk)
    return exception


@transaction.atomic
def revoke_exception(exception: ProviderException, *, request=None) -> bool:
    """Revoke unless already revoked or expired; False when there was nothing to do."""
    now = timezone.now()
    still_active = ProviderException.objects.active(now).filter(pk=exception.pk)
    if not still_active.update(revoked_at=now, updated=now):
        return False
    exception.revoked_at = now
    audit.record(
        "exception.revoked",
        account=exception.account,
        request=request,
        target=str(exception),
        before=_described(exception),
        after={"revoked_at": now.isoformat()},
    )
    privacy.forget_now_and_after_commit(privacy.forget_account, exception.account_id)
    return True


# --- The beat task's work ----------------------------------------------------------------------


def _claim(exception: ProviderException, field: str, now) -> bool:
    """Stamp `field` unless someone already did: true for exactly one worker."""
    unclaimed = ProviderException.objects.filter(pk=exception.pk, **{f"{field}__isnull": True})
    return unclaimed.update(**{field: now, "updated": now}) == 1


def _scope(exception: ProviderException) -> str:
    return f"key {exception.key.prefix}…" if exception.key_id else "the whole account"


def _list_url(exception: ProviderException) -> str:
    return reverse("exception_list", args=[exception.account.slug])


def expire_due(now=None) -> int:
    """Mark every exception whose time is up as expired; returns how many this call marked."""
    now = now or timezone.now()
    due = ProviderException.objects.filter(
        expired_at__isnull=True, revoked_at__isnull=True, until__lte=now
    ).select_related("account", "key")
    return sum(_expire(exception, now) for exception in due)


@transaction.atomic
def _expire(exception: ProviderException, now) -> bool:
    if not _claim(exception, "expired_at", now):
        return False
    privacy.forget_now_and_after_commit(privacy.forget_account, exception.account_id)
    audit.record(
        "exception.expired",
        account=exception.account,
        target=str(exception),
        before=_described(exception),
        after={"expired_at": now.isoformat()},
    )
    notifications.notify(
        exception.account,
        Notification.Kind.EXCEPTION_EXPIRED,
        f"Exception for {exception.provider} expired",
        f"The exception allowing {exception.provider} for {_scope(exception)} ended on "
        f"{exception.until:%Y-%m-%d %H:%M} UTC. Requests follow your privacy settings again.",
        _list_url(exception),
    )
    return True


def warn_expiring(now=None) -> int:
    """Warn once about each exception that ends within WARN_BEFORE; returns how many."""
    now = now or timezone.now()
    soon = ProviderException.objects.active(now).filter(
        warned_at__isnull=True, expired_at__isnull=True, until__lte=now + WARN_BEFORE
    )
    return sum(_warn(exception, now) for exception in soon.select_related("account", "key"))


@transaction.atomic
def _warn(exception: ProviderException, now) -> bool:
    if not _claim(exception, "warned_at", now):
        return False
    notifications.notify(
        exception.account,
        Notification.Kind.EXCEPTION_EXPIRING,
        f"Exception for {exception.provider} ends within a day",
        f"The exception allowing {exception.provider} for {_scope(exception)} ends on "
        f"{exception.until:%Y-%m-%d %H:%M} UTC. Create a new one before then if it is "
        "still needed.",
        _list_url(exception),
    )
    return True
