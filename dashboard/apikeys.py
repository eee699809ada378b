"""Issuing and revoking API keys, audited; the secret leaves here once and is never stored."""

from django.db import transaction
from django.utils import timezone

from dashboard import audit
from dashboard.models import ApiKey


@transaction.atomic
def create_key(*, name, kind, account=None, request=None, actor=None):
    key, secret = ApiKey.issue(
        name=name, kind=kind, account=account, created_by=actor or getattr(request, "user", None)
    )
    audit.record(
        "apikey.created",
        account=account,
        actor=actor,
        request=request,
        target=key.prefix,
        after={"name": key.name, "kind": key.kind, "prefix": key.prefix},
    )
    return key, secret


@transaction.atomic
def revoke_key(key: ApiKey, *, request=None):
    if key.revoked_at is not None:
        return
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at", "updated"])
    key.forget_cached()
    transaction.on_commit(key.forget_cached)  # a lookup between the two would cache it again
    audit.record(
        "apikey.revoked",
        account=key.account,
        request=request,
        target=key.prefix,
        before={"name": key.name, "kind": key.kind, "active": True},
        after={"active": False},
    )
