"""The baseline the resolver is compared with: resolve straight from the ORM on every request.

What a sensible first version would do with no snapshot: fetch the model's endpoints with their
provider, fetch the current approved policy versions of those providers and endpoints (two
queries, using the foreign-key indexes), merge override over default in Python and check each
endpoint against the effective policy. It answers like the resolver (the benchmark checks that on
a sample) but caches nothing.

Imports Django models: import this module only after `tests.bench.setup()`.
"""

import math
from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from catalog.models import Endpoint, PolicyFields, PolicyVersion
from catalog.policy import resolver

_FLAG_HOLDS = {
    "no-training": lambda p: p.get("training") == "no",
    "zero-retention": lambda p: p.get("retention") == "zero",
    "no-safety-retention": lambda p: p.get("safety_retention") == "none",
    "no-publishing": lambda p: p.get("publishes_prompts") == "no",
}
_TAG_CODES = {
    "no-training": "trains_on_data",
    "zero-retention": "not_zero_retention",
    "no-safety-retention": "safety_retention",
    "no-publishing": "publishes_prompts",
    "cert": "missing_certification",
    "region": "region_mismatch",
    "hq": "hq_mismatch",
}


@dataclass(frozen=True)
class Answer:
    """What a resolution decides, in a shape both implementations can be compared in."""

    eligible: tuple[str, ...]  # endpoint ids, preferred first
    excluded: dict[str, frozenset[str]]  # endpoint id -> reason codes

    @classmethod
    def of(cls, resolution: resolver.Resolution) -> "Answer":
        return cls(
            tuple(e.id for e in resolution.eligible),
            {x.endpoint.id: frozenset(r.code for r in x.reasons) for x in resolution.excluded},
        )


def resolve(model: str, effective: resolver.EffectivePolicy, today: date) -> Answer:
    endpoints = Endpoint.objects.select_related("model", "provider")
    if model != resolver.AUTO_MODEL:
        endpoints = endpoints.filter(model__slug=model)
    endpoints = list(endpoints)
    if not endpoints:
        raise resolver.UnknownModel(model)
    defaults, overrides = _current_versions(model, endpoints)
    eligible, excluded = [], {}
    for endpoint in sorted(endpoints, key=lambda e: e.endpoint_id):
        default, override = defaults.get(endpoint.provider_id), overrides.get(endpoint.pk)
        policy, stale = _merged(default, override, today)
        if stale and effective.stale_as_unknown:
            policy = {}  # seen as wholly unknown, headquarters included
        else:
            policy["headquarters"] = endpoint.provider.headquarters
        codes = _reasons(endpoint, policy, stale, effective)
        if codes:
            excluded[endpoint.endpoint_id] = codes
        else:
            eligible.append(endpoint)
    rank = {provider: n for n, provider in reversed(list(enumerate(effective.order)))}
    eligible.sort(key=lambda e: rank.get(e.provider.slug, len(effective.order)))
    return Answer(tuple(e.endpoint_id for e in eligible), excluded)


def _current_versions(model: str, endpoints: list[Endpoint]) -> tuple[dict, dict]:
    versions = PolicyVersion.objects.current().order_by()
    if model != resolver.AUTO_MODEL:
        versions = versions.filter(
            Q(endpoint__isnull=True, provider__in={e.provider_id for e in endpoints})
            | Q(endpoint__in=[e.pk for e in endpoints])
        )
    defaults, overrides = {}, {}
    for version in versions:
        if version.endpoint_id is None:
            defaults[version.provider_id] = version
        else:
            overrides[version.endpoint_id] = version
    return defaults, overrides


def _merged(default, override, today: date) -> tuple[dict, bool]:
    """The endpoint's fields, override over default, and whether any part is unverified or due."""
    policy, dues = {}, []
    for version in (default, override):
        if version is not None:
            for name in PolicyFields.FIELDS:
                if getattr(version, name) is not None:
                    policy[name] = getattr(version, name)
            dues.append(version.review_due)
    if policy.get("retention") != "days":
        policy.pop("retention_days", None)
    stale = not dues or None in dues or min(dues) < today
    return policy, stale


def _reasons(endpoint, policy: dict, stale: bool, effective) -> frozenset[str]:
    codes = set()
    if not effective.training_allowed and policy.get("training") != "no":
        codes.add("trains_on_data")
    for tag in effective.require:
        if tag == "verified":
            if stale:
                codes.add("policy_stale")
        elif not _holds(tag, policy):
            codes.add(_TAG_CODES[tag.partition(":")[0]])
    limit = effective.retention_days
    if limit is not None and _retention_days(policy) > limit:
        codes.add("retention_exceeds_limit")
    slug = endpoint.provider.slug
    if slug in effective.exclude:
        codes.add("provider_excluded")
    if effective.only is not None and slug not in effective.only:
        codes.add("provider_not_allowed")
    if not endpoint.enabled:
        codes.add("endpoint_disabled")
    return frozenset(codes)


def _holds(tag: str, policy: dict) -> bool:
    if tag in _FLAG_HOLDS:
        return _FLAG_HOLDS[tag](policy)
    kind, _, value = tag.partition(":")
    if kind == "cert":
        return value in {c.lower() for c in policy.get("certifications") or ()}
    if kind == "region":
        return {r.lower() for r in policy.get("regions") or ()} == {value}
    return (policy.get("headquarters") or "").upper() == value  # hq


def _retention_days(policy: dict) -> float:
    if policy.get("retention") == "zero":
        return 0
    if policy.get("retention") == "days" and policy.get("retention_days") is not None:
        return policy["retention_days"]
    return math.inf
