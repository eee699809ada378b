"""JSON shapes of resolutions, shared by the API and the pages (PRODUCT.md §3)."""

from collections.abc import Mapping
from datetime import date

from catalog.policy import resolver
from catalog.policy.compile import PolicyDetails, Published, PublishedProvider
from catalog.policy.explain import blocking_constraints

NO_DETAILS = PolicyDetails({}, {}, None)


def evidence_item(item: Mapping) -> dict:
    """A field's evidence as the API shows it: optional parts are null or empty, never absent."""
    return {
        "quote": item["quote"],
        "source_url": item["source_url"] or None,
        "captured_at": item["captured_at"],
        "basis": item["basis"],
        "reference": item["reference"] or None,
        "condition": item["condition"] or None,
        "corroboration": [{"url": c["url"], "note": c["note"]} for c in item["corroboration"]],
    }


def policy_dict(policy: resolver.Policy, details: PolicyDetails, today: date) -> dict:
    out = policy.as_dict()
    out["stale"] = policy.is_stale(today)
    out["verified_at"] = details.verified_at.isoformat() if details.verified_at else None
    out["evidence"] = {name: evidence_item(item) for name, item in details.evidence.items()}
    out["notes"] = dict(details.notes)
    return out


def endpoint_dict(endpoint: resolver.Endpoint, today: date, published: Published) -> dict:
    details = published.endpoints.get(endpoint.id, NO_DETAILS)
    return {
        "endpoint": endpoint.id,
        "provider": endpoint.provider,
        "model": endpoint.model,
        "policy": policy_dict(endpoint.policy, details, today),
    }


def provider_dict(provider: PublishedProvider, today: date) -> dict:
    return {
        "slug": provider.slug,
        "name": provider.name,
        "aliases": list(provider.aliases),
        "headquarters": provider.policy.headquarters,
        "policy": policy_dict(provider.policy, provider.details, today),
        "endpoints": provider.endpoints,
    }


def exclusion_dict(exclusion: resolver.Exclusion) -> dict:
    return {
        "endpoint": exclusion.endpoint.id,
        "provider": exclusion.endpoint.provider,
        "reasons": [
            {"code": r.code, "constraint": r.constraint, "source": r.source}
            for r in exclusion.reasons
        ],
    }


def resolution_dict(resolution: resolver.Resolution, today: date, published: Published) -> dict:
    return {
        "model": resolution.model,
        "catalog_version": resolution.catalog_version,
        "effective_policy": resolution.effective.as_dict(),
        "eligible": [endpoint_dict(e, today, published) for e in resolution.eligible],
        "excluded": [exclusion_dict(x) for x in resolution.excluded],
    }


def no_eligible_details(resolution: resolver.Resolution) -> dict:
    relaxations = resolution.relaxations
    hint = f" Smallest relaxation: {relaxations[0].description}." if relaxations else ""
    return {
        "message": f"No endpoint of {resolution.model} satisfies the effective policy.{hint}",
        "constraints": blocking_constraints(resolution),
        "relaxations": [
            {
                "constraints": list(r.constraints),
                "description": r.description,
                "unlocks": list(r.unlocks),
            }
            for r in relaxations
        ],
        "excluded": [exclusion_dict(x) for x in resolution.excluded],
    }
