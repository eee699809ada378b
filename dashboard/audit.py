"""Writing the audit log: every change to members, keys and settings goes through `record`."""

from django.conf import settings

from dashboard.models import AuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


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
