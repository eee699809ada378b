"""JSON shapes of resolutions, shared by the API and the pages (PRODUCT.md §3)."""

from datetime import date

from catalog.policy import resolver


def endpoint_dict(endpoint: resolver.Endpoint, today: date) -> dict:
    policy = endpoint.policy.as_dict()
    policy["stale"] = endpoint.policy.is_stale(today)
    return {
        "endpoint": endpoint.id,
        "provider": endpoint.provider,
        "model": endpoint.model,
        "policy": policy,
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


def resolution_dict(resolution: resolver.Resolution, today: date) -> dict:
    return {
        "model": resolution.model,
        "catalog_version": resolution.catalog_version,
        "effective_policy": resolution.effective.as_dict(),
        "eligible": [endpoint_dict(e, today) for e in resolution.eligible],
        "excluded": [exclusion_dict(x) for x in resolution.excluded],
    }


def blocking_constraints(resolution: resolver.Resolution) -> list[str]:
    """Every constraint that excluded at least one endpoint, strongest offenders first."""
    counts: dict[str, int] = {}
    for exclusion in resolution.excluded:
        for reason in exclusion.reasons:
            counts[reason.constraint] = counts.get(reason.constraint, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))


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
