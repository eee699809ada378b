"""The catalog as it stood at an earlier catalog version, so accounts can be told what changed.

Approved versions are never rewritten and superseding one only stamps `superseded_at`, so the
newest version of each provider default and endpoint override approved at or before a catalog
version is exactly what the snapshot compiled then. Endpoints themselves are not versioned:
every endpoint that exists now is compiled, with no policy if none was approved yet (all unknown,
as the live catalog shows an endpoint before its first policy is approved).
"""

from catalog.models import PolicyVersion
from catalog.policy import resolver
from catalog.policy.compile import build_catalog


def versions_at(version: int) -> tuple[dict, dict]:
    """Approved versions as of `version`: (provider id -> default, endpoint id -> override)."""
    defaults, overrides = {}, {}
    approved = PolicyVersion.objects.approved().filter(catalog_version__lte=version)
    for policy in approved.order_by("catalog_version"):
        if policy.endpoint_id is None:
            defaults[policy.provider_id] = policy
        else:
            overrides[policy.endpoint_id] = policy
    return defaults, overrides


def compile_catalog_at(version: int) -> resolver.Catalog:
    return build_catalog(version, *versions_at(version))
