"""Writing the audit log: every change to members, keys and settings goes through `record`."""

import ipaddress

from django.conf import settings

from dashboard.models import AuditEvent


def client_ip(request) -> str | None:
    """The client's address: the entry TRUSTED_PROXY_COUNT places from the right of
    X-Forwarded-For (each trusted proxy appends the address it was reached from; anything left
    of that the client wrote itself), else the connection's. A value that is not an IP address
    is ignored, never stored and never an error."""
    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(forwarded) >= proxies and (address := _ip(forwarded[-proxies])):
            return address
    return _ip(request.META.get("REMOTE_ADDR", ""))


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record(
    action,
    *,
    account=None,
    actor=None,
    actor_label=None,
    request=None,
    target="",
    before=None,
    after=None,
):
    """Append one event. `actor_label` names a non-person actor, such as an API key."""
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    return AuditEvent.objects.create(
        account=account,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else "system"),
        action=action,
        target=str(target)[:200],
        before=before,
        after=after,
        ip_address=client_ip(request),
    )


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """The before/after values of only the fields that differ."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
