"""From the database to the resolver: merge each endpoint's override over its provider's
default, field by field, and compile the immutable `resolver.Catalog` — and beside it what the
API and pages show of each policy (its evidence), as an immutable `Published`."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from catalog.evidence import evidence_key, is_known
from catalog.models import CatalogState, Endpoint, PolicyFields, PolicyVersion, Provider
from catalog.policy import resolver
from catalog.policy.request import name_key, provider_named
from catalog.policy.vocabulary import SET_FIELDS


def merge_fields(default: PolicyVersion | None, override: PolicyVersion | None) -> dict:
    """The override's given fields over the default's; a field given nowhere stays unknown."""
    merged = {}
    for version in (default, override):
        if version is not None:
            merged.update(version.given_fields())
    if merged.get("retention") != PolicyFields.Retention.DAYS:
        merged.pop("retention_days", None)
    return merged


def merge_evidence(default, override, fields: Mapping) -> dict:
    """Each merged field's evidence comes from the level its value comes from, and only a value
    that says something carries any: an override's `unknown` drops the default's quote."""
    evidence = {}
    for name, value in fields.items():
        key = evidence_key(name)
        level = _level_giving(key, default, override)
        if level is not None and key in level.evidence and is_known(value):
            evidence[key] = level.evidence[key]
    return evidence


def _level_giving(name, default, override):
    if name == "headquarters":  # a provider's, never an endpoint's
        return default
    for version in (override, default):
        if version is not None and getattr(version, name) is not None:
            return version
    return None


def merge_notes(default, override) -> dict:
    """An override's notes speak for the fields it gives; the default's for the rest."""
    if override is None:
        return dict(default.notes) if default is not None else {}
    given = override.given_fields()
    inherited = default.notes.items() if default is not None else ()
    return {n: note for n, note in inherited if n not in given} | override.notes


def earliest_review_due(default, override):
    """A merged policy is only as fresh as its stalest part; unverified counts as stale."""
    dates = [v.review_due for v in (default, override) if v is not None]
    return None if not dates or None in dates else min(dates)


def earliest_verified_at(default, override):
    dates = [v.verified_at for v in (default, override) if v is not None]
    return None if not dates or None in dates else min(dates)


def to_policy(default, override, headquarters: str) -> resolver.Policy:
    fields = merge_fields(default, override)
    for name in SET_FIELDS:
        fields[name] = frozenset(fields.get(name) or ())
    return resolver.Policy(
        **fields,
        headquarters=headquarters or None,
        review_due=earliest_review_due(default, override),
    )


def versions_in_effect(
    *, at: datetime | None = None, catalog_version: int | None = None
) -> tuple[dict, dict]:
    """The approved versions in effect now, at the moment `at`, or as the catalog stood at
    `catalog_version`: (provider id -> default, endpoint id -> override). One query.

    A version is in effect from `decided_at` until `superseded_at` (`PolicyVersion.in_effect`).
    Approved versions are never rewritten and superseding one only stamps `superseded_at`, so the
    newest version of each default and override approved at or before a catalog version is
    exactly what the snapshot compiled then.
    """
    approved = PolicyVersion.objects.approved()
    if catalog_version is not None:
        versions = approved.filter(catalog_version__lte=catalog_version).order_by("catalog_version")
    elif at is not None:
        versions = approved.filter(decided_at__lte=at).exclude(superseded_at__lte=at)
    else:
        versions = PolicyVersion.objects.current()
    defaults, overrides = {}, {}
    for version in versions:  # by catalog version when asked for one: the newest wins
        if version.endpoint_id is None:
            defaults[version.provider_id] = version
        else:
            overrides[version.endpoint_id] = version
    return defaults, overrides


def _endpoints():
    return list(Endpoint.objects.select_related("model", "provider"))


def build_catalog(
    version: int, defaults: dict, overrides: dict, endpoints=None
) -> resolver.Catalog:
    """Compile every endpoint under the given provider defaults and endpoint overrides."""
    return resolver.Catalog(
        version,
        (
            resolver.Endpoint(
                id=endpoint.endpoint_id,
                model=endpoint.model.slug,
                provider=endpoint.provider.slug,
                policy=to_policy(
                    defaults.get(endpoint.provider_id),
                    overrides.get(endpoint.pk),
                    endpoint.provider.headquarters,
                ),
                enabled=endpoint.is_routable,
            )
            for endpoint in (_endpoints() if endpoints is None else endpoints)
        ),
    )


def compile_catalog() -> resolver.Catalog:
    version = CatalogState.current_version()
    return build_catalog(version, *versions_in_effect())


def compile_catalog_at(catalog_version: int) -> resolver.Catalog:
    """The catalog as it stood at an earlier version, so accounts can be told what changed.
    Endpoints themselves are not versioned: every endpoint that exists now is compiled, with no
    policy if none was approved by then (all unknown, as the live catalog shows an endpoint
    before its first policy is approved)."""
    return build_catalog(catalog_version, *versions_in_effect(catalog_version=catalog_version))


# --- What the API and pages show beside each compiled policy -----------------------------------


@dataclass(frozen=True, slots=True)
class PolicyDetails:
    """A policy's evidence (field -> normalised evidence), notes and verification date."""

    evidence: Mapping[str, Mapping]
    notes: Mapping[str, str]
    verified_at: date | None


@dataclass(frozen=True, slots=True)
class PublishedProvider:
    slug: str
    name: str
    aliases: tuple[str, ...]
    domains: tuple[str, ...]
    policy: resolver.Policy  # the provider's default, as an endpoint without override has it
    details: PolicyDetails
    endpoints: int


@dataclass(frozen=True, slots=True)
class Published:
    """The evidence side of one catalog version; built with its `resolver.Catalog`."""

    version: int
    endpoints: Mapping[str, PolicyDetails]  # endpoint id -> merged details
    tags: Mapping[str, tuple[str, ...]]  # endpoint id -> OpenRouter endpoint tags
    providers: tuple[PublishedProvider, ...]  # by slug
    names: Mapping[str, str]  # name_key of slug, display name, alias or endpoint tag -> slug

    def provider_named(self, name: str) -> str | None:
        """Our slug for a provider named by slug, display name, alias or endpoint tag."""
        return provider_named(self.names, name)


def details_of(default, override, fields) -> PolicyDetails:
    return PolicyDetails(
        MappingProxyType(merge_evidence(default, override, fields)),
        MappingProxyType(merge_notes(default, override)),
        earliest_verified_at(default, override),
    )


def _fields_with_headquarters(default, override, provider) -> dict:
    fields = merge_fields(default, override)
    if provider.headquarters:
        fields["headquarters"] = provider.headquarters
    return fields


def build_published(version, defaults, overrides, endpoints, providers) -> Published:
    endpoint_details, tags, counts, names = {}, {}, {}, {}
    for provider in providers:
        names.update(dict.fromkeys(map(name_key, provider.names()), provider.slug))
    for endpoint in endpoints:
        default, override = defaults.get(endpoint.provider_id), overrides.get(endpoint.pk)
        fields = _fields_with_headquarters(default, override, endpoint.provider)
        endpoint_details[endpoint.endpoint_id] = details_of(default, override, fields)
        tags[endpoint.endpoint_id] = tuple(endpoint.tags)
        counts[endpoint.provider_id] = counts.get(endpoint.provider_id, 0) + 1
        for tag in endpoint.tags:
            names.setdefault(name_key(tag), endpoint.provider.slug)
    published_providers = tuple(
        _published_provider(provider, defaults.get(provider.pk), counts.get(provider.pk, 0))
        for provider in providers
    )
    return Published(
        version,
        MappingProxyType(endpoint_details),
        MappingProxyType(tags),
        published_providers,
        MappingProxyType(names),
    )


def _published_provider(provider, default, endpoints: int) -> PublishedProvider:
    return PublishedProvider(
        slug=provider.slug,
        name=provider.name,
        aliases=tuple(provider.aliases),
        domains=tuple(provider.domains),
        policy=to_policy(default, None, provider.headquarters),
        details=details_of(default, None, _fields_with_headquarters(default, None, provider)),
        endpoints=endpoints,
    )


def compile_snapshot() -> tuple[resolver.Catalog, Published]:
    """The catalog and its evidence at one version, from one read of each table."""
    version = CatalogState.current_version()
    defaults, overrides = versions_in_effect()
    endpoints, providers = _endpoints(), list(Provider.objects.order_by("slug"))
    return (
        build_catalog(version, defaults, overrides, endpoints),
        build_published(version, defaults, overrides, endpoints, providers),
    )


def compile_with(candidate: PolicyVersion) -> resolver.Catalog:
    """The current catalog as it would be if `candidate` were approved (for impact reports)."""
    defaults, overrides = versions_in_effect()
    if candidate.endpoint_id is None:
        defaults[candidate.provider_id] = candidate
    else:
        overrides[candidate.endpoint_id] = candidate
    return build_catalog(CatalogState.current_version() + 1, defaults, overrides)
