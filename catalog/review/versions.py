"""Proposing and deciding policy versions. Nothing is applied without a second person (four-eyes),
except the very first import into an empty catalog, which is audited as such."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from catalog.models import CatalogState, PolicyVersion
from catalog.policy import snapshot
from core.access import is_privacy_team
from core.outbox import enqueue
from dashboard import audit
from dashboard.tasks import notify_catalog_change


class ReviewError(Exception):
    pass


def next_number(provider, endpoint) -> int:
    versions = PolicyVersion.objects.filter(provider=provider, endpoint=endpoint)
    return (versions.aggregate(n=Max("number"))["n"] or 0) + 1


def current_version(provider, endpoint=None) -> PolicyVersion | None:
    return PolicyVersion.objects.current().filter(provider=provider, endpoint=endpoint).first()


def propose(provider, endpoint, content: dict, *, origin, proposed_by=None) -> PolicyVersion:
    return PolicyVersion.objects.create(
        provider=provider,
        endpoint=endpoint,
        number=next_number(provider, endpoint),
        status=PolicyVersion.Status.PROPOSED,
        origin=origin,
        proposed_by=proposed_by,
        **content,
    )


def _check_reviewer(version: PolicyVersion, reviewer) -> None:
    if not is_privacy_team(reviewer):
        raise ReviewError("Only privacy-team members decide on policy changes.")
    if version.proposed_by_id == reviewer.pk:
        raise ReviewError("Four-eyes: whoever proposed a change cannot approve it.")
    if version.status != PolicyVersion.Status.PROPOSED:
        raise ReviewError(f"This version is already {version.status}.")


def _supersede_current(version: PolicyVersion, now) -> PolicyVersion | None:
    previous = current_version(version.provider, version.endpoint)
    if previous is not None:
        PolicyVersion.objects.filter(pk=previous.pk).update(superseded_at=now)
    return previous


@transaction.atomic
def approve(version: PolicyVersion, reviewer, comment: str, *, request=None) -> PolicyVersion:
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    _check_reviewer(version, reviewer)
    return _apply(version, reviewer, comment, action="policy.approved", request=request)


def apply_import(version: PolicyVersion, at=None) -> PolicyVersion:
    """First load into an empty catalog: approved as an import, with no reviewer to ask.

    A whole import takes effect at one moment `at`: otherwise an endpoint's policy would seem
    to have been, for the instant between its provider's default and its own override, one
    it never had, and traffic of that hour would count as served under a changed policy."""
    return _apply(version, None, "initial catalog import", action="policy.imported", at=at)


def _apply(version, reviewer, comment, *, action, request=None, at=None):
    now = at or timezone.now()
    previous = _supersede_current(version, now)
    if reviewer is not None:  # approving is verifying: the reviewer read the evidence today
        version.verified_by, version.verified_at = reviewer.email, now.date()
    version.status = PolicyVersion.Status.APPROVED
    version.decided_by, version.decided_at, version.decision_comment = reviewer, now, comment
    version.catalog_version = CatalogState.bump()
    version.save()
    snapshot.announce_change()
    if action != "policy.imported":  # the first import would list the whole catalog as news
        enqueue(notify_catalog_change, version.catalog_version - 1, version.catalog_version)
    audit.record(
        action,
        actor=reviewer,
        request=request,
        target=f"{version.subject} v{version.number}",
        before=previous.given_fields() if previous else None,
        after=version.given_fields(),
    )
    return version


@transaction.atomic
def reject(version: PolicyVersion, reviewer, comment: str, *, request=None) -> PolicyVersion:
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if not is_privacy_team(reviewer):
        raise ReviewError("Only privacy-team members decide on policy changes.")
    if not comment.strip():
        raise ReviewError("Say why the change is rejected.")
    version.status = PolicyVersion.Status.REJECTED
    version.decided_by, version.decided_at = reviewer, timezone.now()
    version.decision_comment = comment
    version.save()
    audit.record(
        "policy.rejected",
        actor=reviewer,
        request=request,
        target=f"{version.subject} v{version.number}",
        after={"comment": comment},
    )
    return version
