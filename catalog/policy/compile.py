"""From the database to the resolver: merge each endpoint's override over its provider's
default, field by field, and compile the immutable `resolver.Catalog`."""

from catalog.models import CatalogState, Endpoint, PolicyFields, PolicyVersion
from catalog.policy import resolver
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


def earliest_review_due(default, override):
    """A merged policy is only as fresh as its stalest part; unverified counts as stale."""
    dates = [v.review_due for v in (default, override) if v is not None]
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


def current_versions() -> tuple[dict, dict]:
    """Current approved versions: (provider id -> default, endpoint id -> override)."""
    defaults, overrides = {}, {}
    for version in PolicyVersion.objects.current():
        if version.endpoint_id is None:
            defaults[version.provider_id] = version
        else:
            overrides[version.endpoint_id] = version
    return defaults, overrides


def build_catalog(version: int, defaults: dict, overrides: dict) -> resolver.Catalog:
    """Compile every endpoint under the given provider defaults and endpoint overrides."""
    endpoints = Endpoint.objects.select_related("model", "provider")
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
                enabled=endpoint.enabled,
            )
            for endpoint in endpoints
        ),
    )


def compile_catalog() -> resolver.Catalog:
    version = CatalogState.current_version()
    return build_catalog(version, *current_versions())


def compile_with(candidate: PolicyVersion) -> resolver.Catalog:
    """The current catalog as it would be if `candidate` were approved (for impact reports)."""
    defaults, overrides = current_versions()
    if candidate.endpoint_id is None:
        defaults[candidate.provider_id] = candidate
    else:
        overrides[candidate.endpoint_id] = candidate
    return build_catalog(CatalogState.current_version() + 1, defaults, overrides)
