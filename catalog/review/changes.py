"""Deciding detected changes. A comment is always required; whoever proposed a change or
edited its field values cannot approve it (four-eyes)."""

import hashlib
import json

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import PolicyChange, PolicySource, PolicyVersion, ReviewEvent
from catalog.review import versions as review
from core.access import is_privacy_team
from dashboard import audit


class ChangeDecisionError(Exception):
    pass


class ChangeEditedSinceShown(ChangeDecisionError):
    """The change is no longer what the reviewer was shown; they must look again first."""


def shown_hash(change: PolicyChange) -> str:
    """A digest of what a reviewer sees of a change: its revision, the page text it proposes and
    every proposed field value. A decision is bound to it."""
    version = change.version
    values = (
        {name: getattr(version, name) for name in PolicyVersion.CONTENT_FIELDS} if version else None
    )
    shown = {
        "revision": change.revision,
        "after": change.after_id,
        "version": version.pk if version else None,
        "values": values,
    }
    encoded = json.dumps(shown, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _check_shown(change: PolicyChange, shown: tuple[int, str] | None) -> None:
    if shown is None:
        return
    revision, digest = shown
    if revision != change.revision or digest != shown_hash(change):
        raise ChangeEditedSinceShown(
            f"This change was edited after you opened it (it is now revision {change.revision}): "
            "nothing was decided. Read the new values below, then decide again."
        )


def _check(change: PolicyChange, person, comment: str) -> None:
    if not is_privacy_team(person):
        raise ChangeDecisionError("Only the privacy team reviews changes.")
    if not comment.strip():
        raise ChangeDecisionError("A comment is required.")
    if not change.is_open:
        raise ChangeDecisionError(f"This change is already {change.status}.")


def _event(change, person, action, comment, request=None):
    ReviewEvent.objects.create(change=change, author=person, action=action, comment=comment)
    audit.record(
        f"change.{action}",
        actor=person,
        request=request,
        target=f"change {change.pk} of {change.provider.slug}",
        after={"comment": comment, "status": change.status},
    )


def _locked(change) -> PolicyChange:
    locked = PolicyChange.objects.select_for_update(of=("self",))
    return locked.select_related("provider", "version").get(pk=change.pk)


def _close(change, status) -> None:
    change.status = status
    change.save(update_fields=["status", "updated"])
    if change.source_id and change.after_id:
        # Decided: later fetches compare with what was reviewed, so it is not raised again.
        PolicySource.objects.filter(pk=change.source_id).update(baseline=change.after_id)


@transaction.atomic
def edit_fields(change, editor, fields: dict, comment: str, *, request=None) -> PolicyVersion:
    """Propose field values for a change; the editor becomes its proposer."""
    change = _locked(change)
    _check(change, editor, comment)
    current = review.current_version(change.provider)
    content = PolicyVersion.content_of(current)
    content.update(fields)
    if change.source_id:
        content["source_url"] = change.source.url
    if change.version and change.version.status == PolicyVersion.Status.PROPOSED:
        review.reject(change.version, editor, "replaced by edited field values")
    change.version = review.propose(
        change.provider, None, content, origin=PolicyVersion.Origin.REVIEW, proposed_by=editor
    )
    change.material = True
    change.revision += 1
    change.save(update_fields=["version", "material", "revision", "updated"])
    _event(change, editor, ReviewEvent.Action.EDITED, comment, request)
    return change.version


@transaction.atomic
def approve(change, reviewer, comment: str, *, shown=None, request=None) -> PolicyChange:
    """`shown` — (revision, shown_hash) of the page the reviewer decided on — binds the decision
    to what they saw."""
    change = _locked(change)
    _check(change, reviewer, comment)
    _check_shown(change, shown)
    edited = change.events.filter(action=ReviewEvent.Action.EDITED, author=reviewer).exists()
    if edited or (change.version and change.version.proposed_by_id == reviewer.pk):
        raise ChangeDecisionError(
            "Four-eyes: you edited these field values, so someone else must approve them."
        )
    if change.version and change.version.status == PolicyVersion.Status.PROPOSED:
        review.approve(change.version, reviewer, comment, request=request)
    _close(change, PolicyChange.Status.APPROVED)
    _event(change, reviewer, ReviewEvent.Action.APPROVED, comment, request)
    return change


@transaction.atomic
def reject(change, reviewer, comment: str, *, shown=None, request=None) -> PolicyChange:
    change = _locked(change)
    _check(change, reviewer, comment)
    _check_shown(change, shown)
    if change.version and change.version.status == PolicyVersion.Status.PROPOSED:
        review.reject(change.version, reviewer, comment)
    _close(change, PolicyChange.Status.REJECTED)
    _event(change, reviewer, ReviewEvent.Action.REJECTED, comment, request)
    return change


@transaction.atomic
def request_changes(change, reviewer, comment: str, *, shown=None, request=None) -> PolicyChange:
    change = _locked(change)
    _check(change, reviewer, comment)
    _check_shown(change, shown)
    change.status = PolicyChange.Status.CHANGES_REQUESTED
    change.save(update_fields=["status", "updated"])
    _event(change, reviewer, ReviewEvent.Action.CHANGES_REQUESTED, comment, request)
    return change


def manual_change(provider, editor, fields: dict, comment: str, *, request=None) -> PolicyChange:
    """A privacy-team edit outside any refresh goes through the same proposal path."""
    with transaction.atomic():
        change = PolicyChange.objects.create(
            provider=provider, summary=comment[:300], material=True
        )
        edit_fields(change, editor, fields, comment, request=request)
    return change


def stale_policies(today=None):
    """Current versions past their review date, or never given one (the resolver treats both
    as stale)."""
    today = today or timezone.now().date()
    overdue = Q(review_due__lt=today) | Q(review_due__isnull=True)
    return (
        PolicyVersion.objects.current()
        .filter(overdue)
        .select_related("provider", "endpoint__model", "endpoint__provider")
    )
