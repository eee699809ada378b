"""The public catalog changelog: every approved policy version after the first import.

Customers are told to review their settings as providers change; this is where they find out
what changed, for which endpoints, when, and on what evidence. The first import is not news, so
it is left out. A fixed number of queries, whatever the number of entries.
"""

from dataclasses import dataclass
from datetime import datetime

from catalog import evidence
from catalog.models import Endpoint, PolicyVersion
from catalog.review.history import FieldChange, field_changes

PAGE = 50
IMPORT_ORIGIN = "import"


@dataclass(frozen=True)
class EvidenceItem:
    field: str
    quote: str
    source_url: str
    captured_at: str
    basis: str


@dataclass(frozen=True)
class ChangelogEntry:
    version: PolicyVersion
    changes: list[FieldChange]
    endpoints: list[str]  # the endpoint ids whose effective policy this version sets
    evidence: list[EvidenceItem]

    @property
    def approved_at(self) -> datetime:
        return self.version.decided_at

    @property
    def subject(self) -> str:
        return self.version.subject

    @property
    def provider(self) -> str:
        return self.version.provider.slug

    @property
    def title(self) -> str:
        fields = ", ".join(change.field.replace("_", " ") for change in self.changes)
        return f"{self.subject}: {fields or 'policy re-approved'}"


def entries(provider: str | None = None, limit: int = PAGE) -> list[ChangelogEntry]:
    versions = _approved(provider)[:limit]
    if not versions:
        return []
    previous = _previous_versions(versions)
    endpoints = _endpoints_set_by(versions)
    return [
        ChangelogEntry(
            version,
            changes := field_changes(previous.get(version.pk), version),
            endpoints[version.pk],
            _evidence(version, {change.field for change in changes}),
        )
        for version in versions
    ]


def _approved(provider: str | None):
    versions = (
        PolicyVersion.objects.approved()
        .exclude(origin=IMPORT_ORIGIN)
        .filter(decided_at__isnull=False)
        .select_related("provider", "endpoint__model", "endpoint__provider")
        .order_by("-decided_at", "-pk")
    )
    return list(versions.filter(provider__slug=provider) if provider else versions)


def _previous_versions(versions) -> dict[int, PolicyVersion]:
    """Each version's approved predecessor on the same subject, from one query."""
    earlier = (
        PolicyVersion.objects.approved()
        .filter(provider_id__in={v.provider_id for v in versions})
        .order_by("number")
    )
    by_subject: dict[tuple, list[PolicyVersion]] = {}
    for version in earlier:
        by_subject.setdefault((version.provider_id, version.endpoint_id), []).append(version)
    previous = {}
    for version in versions:
        before = [
            v
            for v in by_subject.get((version.provider_id, version.endpoint_id), [])
            if v.number < version.number
        ]
        if before:
            previous[version.pk] = before[-1]
    return previous


def _endpoints_set_by(versions) -> dict[int, list[str]]:
    """A provider default sets the policy of every endpoint of that provider; an override, of
    its own endpoint."""
    providers = {v.provider_id for v in versions if v.endpoint_id is None}
    of_provider: dict[int, list[str]] = {}
    for endpoint in (
        Endpoint.objects.filter(provider_id__in=providers)
        .select_related("model", "provider")
        .order_by("model__slug")
    ):
        of_provider.setdefault(endpoint.provider_id, []).append(endpoint.endpoint_id)
    return {
        v.pk: [v.endpoint.endpoint_id] if v.endpoint_id else of_provider.get(v.provider_id, [])
        for v in versions
    }


def _evidence(version: PolicyVersion, changed: set[str]) -> list[EvidenceItem]:
    """The passages behind the changed fields first, then the rest the version quotes."""
    items = []
    for field, item in sorted(
        (version.evidence or {}).items(), key=lambda pair: (pair[0] not in changed, pair[0])
    ):
        stored = evidence.normalise(item, version.source_url)
        items.append(
            EvidenceItem(
                field,
                stored["quote"],
                stored["source_url"],
                stored["captured_at"] or "",
                stored["basis"],
            )
        )
    return items


def as_json(entry: ChangelogEntry) -> dict:
    version = entry.version
    return {
        "id": version.pk,
        "approved_at": entry.approved_at.isoformat(),
        "catalog_version": version.catalog_version,
        "provider": entry.provider,
        "endpoint": version.endpoint.endpoint_id if version.endpoint_id else None,
        "subject": entry.subject,
        "version": version.number,
        "changes": [
            {"field": c.field, "before": _plain(c.before), "after": _plain(c.after)}
            for c in entry.changes
        ],
        "endpoints": entry.endpoints,
        "evidence": [
            {
                "field": e.field,
                "quote": e.quote,
                "source_url": e.source_url,
                "captured_at": e.captured_at or None,
                "basis": e.basis,
            }
            for e in entry.evidence
        ],
        "verified_by": version.verified_by or None,
        "comment": version.decision_comment,
    }


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
