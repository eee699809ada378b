"""Merging a provider default and an endpoint override never yields a value that neither level
carries evidence for, and never keeps a quote for a value the merge dropped."""

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.catalog_file import CatalogFileError, parse_catalog
from catalog.evidence import evidence_key, is_known
from catalog.loader import version_content
from catalog.models import PolicyVersion
from catalog.policy.compile import merge_evidence, merge_fields

CHOICES = {
    "training": ("no", "yes", "unknown"),
    "retention": ("zero", "days", "indefinite", "unknown"),
    "safety_retention": ("none", "flagged_only", "unknown"),
    "publishes_prompts": ("no", "yes", "unknown"),
    "certifications": ([], ["soc2"], ["soc2", "hipaa"]),
    "regions": ([], ["eu"], ["us", "eu"]),
}
OWN, ELSEWHERE = "https://docs.own.example/data", "https://blog.example/own"


def _evidence(field):
    return st.one_of(
        st.just(f"{field}: a bare quote, from the policy's own page"),
        st.fixed_dictionaries(
            {
                "quote": st.just(f"{field} quoted"),
                "source_url": st.sampled_from((OWN, OWN, ELSEWHERE)),
            }
        ),
        st.fixed_dictionaries(
            {"passage": st.just(f"{field} (older spelling)"), "url": st.just(OWN)}
        ),
    )


@st.composite
def policy_levels(draw, level):
    policy = {"source_url": "https://own.example/privacy", "evidence": {}}
    if level == "provider":
        policy.update(verified_at="2026-10-01", review_due="2099-01-01")
    for field, choices in CHOICES.items():
        if draw(st.booleans()):
            policy[field] = draw(st.sampled_from(choices))
            if draw(st.integers(0, 9)):  # mostly evidenced, sometimes not
                policy["evidence"][field] = draw(_evidence(field))
    if policy.get("retention") == "days":
        policy["retention_days"] = draw(st.sampled_from((1, 14, 30, 90)))
    return policy


def _file(default, override, headquarters):
    provider = {"slug": "own-ai", "name": "Own AI", "domains": ["own.example"], "policy": default}
    if headquarters:
        provider["headquarters"] = "DE"
        default["evidence"]["headquarters"] = "Own AI GmbH, Berlin."
    return {
        "providers": [provider],
        "models": [{"slug": "own/chat", "name": "Own Chat"}],
        "endpoints": [{"model": "own/chat", "provider": "own-ai", "policy": override}],
    }


def _versions(catalog):
    provider, endpoint = catalog.providers[0], catalog.endpoints[0]
    default = PolicyVersion(**version_content(provider.policy))
    override = PolicyVersion(**version_content(endpoint.policy, inherited=provider.policy))
    return provider, default, override


@settings(max_examples=300, deadline=None)
@given(policy_levels("provider"), policy_levels("endpoint"), st.booleans())
def test_a_merged_value_always_carries_the_evidence_of_the_level_that_gave_it(
    default_in, override_in, headquarters
):
    try:
        catalog = parse_catalog(_file(default_in, override_in, headquarters))
    except CatalogFileError:
        return  # the loader refuses it: nothing to merge
    provider, default, override = _versions(catalog)
    merged = merge_fields(default, override)
    if provider.headquarters:
        merged["headquarters"] = provider.headquarters
    evidence = merge_evidence(default, override, merged)

    for field, value in merged.items():
        if not is_known(value):
            continue
        key = evidence_key(field)
        assert key in evidence, (field, value)
        givers = (
            [default]
            if field == "headquarters"
            else _levels_giving(field, value, override, default)
        )
        assert evidence[key] in [level.evidence[key] for level in givers], (field, value)
        assert evidence[key]["source_url"].startswith(("https://own.example", OWN))
    assert all(is_known(merged.get(key)) for key in evidence)


def _levels_giving(field, value, override, default):
    """The level a merged value comes from: the override where it gives the field."""
    for level in (override, default):
        if getattr(level, field) is not None:
            return [level] if getattr(level, field) == value else []
    return []
