"""Field-by-field differences between successive policy versions, for the provider timeline."""

from dataclasses import dataclass

from catalog.models import PolicyVersion

SHOWN_FIELDS = (*PolicyVersion.FIELDS, "source_url", "review_due")


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: object
    after: object


@dataclass(frozen=True)
class TimelineEntry:
    version: PolicyVersion
    changes: list[FieldChange]


def field_changes(previous: PolicyVersion | None, version: PolicyVersion) -> list[FieldChange]:
    changes = []
    for name in SHOWN_FIELDS:
        before = _blank_as_none(getattr(previous, name) if previous else None)
        after = _blank_as_none(getattr(version, name))
        if before != after:
            changes.append(FieldChange(name, before, after))
    return changes


def _blank_as_none(value):
    return None if value == "" else value


def version_timeline(versions: list[PolicyVersion]) -> list[TimelineEntry]:
    """Newest first; each version compared with the approved one before it on its subject."""
    entries = []
    last_approved: dict[int | None, PolicyVersion] = {}
    for version in sorted(versions, key=lambda v: (v.endpoint_id or 0, v.number)):
        previous = last_approved.get(version.endpoint_id)
        entries.append(TimelineEntry(version, field_changes(previous, version)))
        if version.status == PolicyVersion.Status.APPROVED:
            last_approved[version.endpoint_id] = version
    return sorted(entries, key=lambda e: (e.version.created, e.version.pk), reverse=True)
