"""The resolver's laws, checked on random catalogs and constraint layers."""

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.policy import vocabulary
from catalog.policy.resolver import (
    Catalog,
    Constraints,
    Endpoint,
    Policy,
    evaluate,
    merge,
    resolve,
)
from catalog.policy.vocabulary import values

CLASSIFICATIONS = values(vocabulary.Classification)
TRAINING, RETENTION = values(vocabulary.Training), values(vocabulary.Retention)
SAFETY, PUBLISHING = values(vocabulary.Safety), values(vocabulary.Publishing)

TODAY = date(2026, 6, 1)
MODELS = ("acme/chat", "acme/code")
PROVIDERS = ("alpha", "beta", "gamma", "delta")
CERTS = ("soc2", "hipaa", "iso27001")
REGIONS = ("us", "eu")
COUNTRIES = ("US", "DE")
FLAG_TAGS = ("no-training", "zero-retention", "no-safety-retention", "no-publishing", "verified")
TAGS = (
    FLAG_TAGS
    + tuple(f"cert:{c}" for c in CERTS)
    + tuple(f"region:{r}" for r in REGIONS)
    + tuple(f"hq:{c}" for c in COUNTRIES)
)

modest = settings(max_examples=200, deadline=None)


# Strategies are built once: hypothesis re-analyses a strategy object each time one is created.


def subsets(items):
    return st.frozensets(st.sampled_from(items))


REVIEW_DATES = (None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=30))


@st.composite
def _policies(draw):
    retention = draw(st.sampled_from(RETENTION))
    return Policy(
        training=draw(st.sampled_from(TRAINING)),
        retention=retention,
        retention_days=draw(st.integers(1, 60)) if retention == "days" else None,
        safety_retention=draw(st.sampled_from(SAFETY)),
        publishes_prompts=draw(st.sampled_from(PUBLISHING)),
        certifications=draw(subsets(CERTS)),
        regions=draw(subsets(REGIONS)),
        headquarters=draw(st.sampled_from((None, *COUNTRIES))),
        review_due=draw(st.sampled_from(REVIEW_DATES)),
    )


policies = _policies()
endpoint_slots = st.sets(
    st.tuples(st.sampled_from(MODELS), st.sampled_from(PROVIDERS)), min_size=1, max_size=6
)


@st.composite
def _catalogs(draw):
    endpoints = [
        Endpoint(f"{model}@{provider}", model, provider, draw(policies), draw(st.booleans()))
        for model, provider in sorted(draw(endpoint_slots))
    ]
    return Catalog(1, endpoints)


catalogs = _catalogs()

constraints = st.builds(
    Constraints,
    training_allowed=st.sampled_from((None, True, False)),
    retention_days=st.none() | st.integers(0, 60),
    require=subsets(TAGS),
    exclude=subsets(PROVIDERS),
    only=st.none() | subsets(PROVIDERS),
    order=st.lists(st.sampled_from(PROVIDERS), unique=True).map(tuple),
    classification=st.none() | st.sampled_from(CLASSIFICATIONS),
    regulated_certifications=subsets(CERTS),
    stale_as_unknown=st.booleans(),
)

layer_stacks = st.one_of(
    st.tuples(constraints).map(lambda cs: [("account", cs[0])]),
    st.tuples(constraints, constraints).map(lambda cs: [("account", cs[0]), ("key", cs[1])]),
    st.tuples(constraints, constraints, constraints).map(
        lambda cs: [("account", cs[0]), ("key", cs[1]), ("request", cs[2])]
    ),
)

models = st.sampled_from((*MODELS, "anyapi/auto"))


def eligible_ids(catalog, model, effective):
    if model != "anyapi/auto" and model not in catalog.models():
        return set()
    return {e.id for e in resolve(catalog, model, effective, TODAY).eligible}


@modest
@given(catalogs, layer_stacks, constraints)
def test_adding_a_layer_never_adds_an_eligible_endpoint(catalog, layers, extra):
    before = eligible_ids(catalog, "anyapi/auto", merge(layers))
    after = eligible_ids(catalog, "anyapi/auto", merge([*layers, ("request", extra)]))
    assert after <= before


@modest
@given(catalogs, constraints, constraints, constraints)
def test_a_request_never_loosens_the_account_or_key(catalog, account, key, request):
    base = merge([("account", account), ("key", key)])
    with_request = merge([("account", account), ("key", key), ("request", request)])
    assert eligible_ids(catalog, "anyapi/auto", with_request) <= eligible_ids(
        catalog, "anyapi/auto", base
    )


@modest
@given(catalogs, constraints, st.sampled_from(TAGS))
def test_requiring_one_more_tag_never_adds_an_eligible_endpoint(catalog, layer, tag):
    tighter = replace(layer, require=layer.require | {tag})
    before = eligible_ids(catalog, "anyapi/auto", merge([("account", layer)]))
    assert eligible_ids(catalog, "anyapi/auto", merge([("account", tighter)])) <= before


@modest
@given(catalogs, layer_stacks, st.integers(0, 60))
def test_tightening_the_retention_limit_never_adds_an_eligible_endpoint(catalog, layers, days):
    before = eligible_ids(catalog, "anyapi/auto", merge(layers))
    tighter = merge([*layers, ("request", Constraints(retention_days=days))])
    assert eligible_ids(catalog, "anyapi/auto", tighter) <= before


UNKNOWN_FAILS = {
    "no-training": {"training": "unknown"},
    "zero-retention": {"retention": "unknown"},
    "no-safety-retention": {"safety_retention": "unknown"},
    "no-publishing": {"publishes_prompts": "unknown"},
    "region:us": {"regions": frozenset()},
    "region:eu": {"regions": frozenset()},
    "cert:soc2": {"certifications": frozenset()},
    "hq:US": {"headquarters": None},
}


@modest
@given(policies, st.sampled_from(sorted(UNKNOWN_FAILS)))
def test_unknown_never_satisfies_a_tag(policy, tag):
    unknown = Endpoint("m@p", "m", "p", replace(policy, **UNKNOWN_FAILS[tag]))
    assert evaluate(unknown, merge([("request", Constraints(require=frozenset({tag})))]), TODAY)


@modest
@given(policies, st.integers(0, 3650))
def test_unknown_retention_never_satisfies_a_retention_limit(policy, days):
    unknown = Endpoint("m@p", "m", "p", replace(policy, retention="unknown", retention_days=None))
    assert evaluate(unknown, merge([("request", Constraints(retention_days=days))]), TODAY)


@modest
@given(policies, st.sampled_from(TAGS))
def test_a_stale_policy_counted_as_unknown_satisfies_no_tag(policy, tag):
    stale = Endpoint("m@p", "m", "p", replace(policy, review_due=TODAY - timedelta(days=1)))
    layer = Constraints(require=frozenset({tag}), stale_as_unknown=True)
    assert evaluate(stale, merge([("account", layer)]), TODAY)


@modest
@given(catalogs, layer_stacks, models)
def test_eligible_and_excluded_partition_the_candidates(catalog, layers, model):
    if model != "anyapi/auto" and model not in catalog.models():
        return
    resolution = resolve(catalog, model, merge(layers), TODAY)
    eligible = [e.id for e in resolution.eligible]
    excluded = [x.endpoint.id for x in resolution.excluded]
    assert sorted(eligible + excluded) == [e.id for e in catalog.endpoints_for(model)]
    assert excluded == sorted(excluded)


@modest
@given(catalogs, layer_stacks)
def test_an_endpoint_is_eligible_exactly_when_evaluate_finds_no_reason(catalog, layers):
    effective = merge(layers)
    resolution = resolve(catalog, "anyapi/auto", effective, TODAY)
    assert all(evaluate(e, effective, TODAY) == () for e in resolution.eligible)
    assert all(evaluate(x.endpoint, effective, TODAY) == x.reasons for x in resolution.excluded)
    assert all(x.reasons for x in resolution.excluded)


@modest
@given(catalogs, layer_stacks)
def test_preferred_providers_come_first_and_the_rest_by_id(catalog, layers):
    effective = merge(layers)
    eligible = resolve(catalog, "anyapi/auto", effective, TODAY).eligible
    rank = {provider: i for i, provider in reversed(list(enumerate(effective.order)))}
    keys = [(rank.get(e.provider, len(effective.order)), e.id) for e in eligible]
    assert keys == sorted(keys)


def _unlocked_by_the_smallest_longer_limit(catalog, model, relaxed) -> set[str]:
    """A retention relaxation names the smallest longer limit that unlocks anything, which may
    unlock fewer endpoints than dropping the limit (an unknown retention needs no limit at all):
    the endpoints the smallest such limit unlocks, or, when none does, those of no limit."""
    for days in range(1, 61):  # the retention periods these catalogs draw from
        unlocked = eligible_ids(catalog, model, replace(relaxed, retention_days=days))
        if unlocked:
            return unlocked
    return eligible_ids(catalog, model, relaxed)


@modest
@given(catalogs, layer_stacks, models)
def test_relaxations_unlock_what_they_claim_and_nothing_smaller_would(catalog, layers, model):
    if model != "anyapi/auto" and model not in catalog.models():
        return
    effective = merge(layers)
    resolution = resolve(catalog, model, effective, TODAY)
    if resolution.eligible or all(not e.enabled for e in catalog.endpoints_for(model)):
        assert resolution.relaxations == ()
        return
    assert 1 <= len(resolution.relaxations) <= 3
    fewest = min(
        len({r.constraint for r in x.reasons}) for x in resolution.excluded if x.endpoint.enabled
    )
    for relaxation in resolution.relaxations:
        assert len(relaxation.constraints) == fewest
        relaxed = effective.without(relaxation.constraints)
        if "retention_days" in relaxation.constraints:
            unlocked = _unlocked_by_the_smallest_longer_limit(catalog, model, relaxed)
        else:
            unlocked = eligible_ids(catalog, model, relaxed)
        assert set(relaxation.unlocks) == unlocked
    counts = [len(r.unlocks) for r in resolution.relaxations]
    assert counts == sorted(counts, reverse=True)
