import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from catalog.policy.resolver import (
    Catalog,
    Constraints,
    EffectivePolicy,
    Endpoint,
    InvalidTag,
    Policy,
    Reason,
    UnknownModel,
    _Resolutions,
    evaluate,
    merge,
    merge_cached,
    parse_tag,
    resolve,
    resolve_cached,
)

TODAY = date(2026, 6, 1)
MODEL = "acme/chat-1"

# Satisfies every tag the tests ask for unless a test overrides a field.
SAFE = Policy(
    training="no",
    retention="zero",
    safety_retention="none",
    publishes_prompts="no",
    certifications=frozenset({"soc2"}),
    regions=frozenset({"eu"}),
    headquarters="DE",
    review_due=TODAY + timedelta(days=90),
)


def endpoint(provider="acme", model=MODEL, enabled=True, **policy_fields):
    return Endpoint(f"{model}@{provider}", model, provider, replace(SAFE, **policy_fields), enabled)


def request(**constraints):
    """The effective policy of a lone request layer; sets may be written as plain sets."""
    frozen = {k: frozenset(v) if isinstance(v, set) else v for k, v in constraints.items()}
    return merge([("request", Constraints(**frozen))])


def codes(target, effective):
    return [reason.code for reason in evaluate(target, effective, TODAY)]


def constraints_failed(target, effective):
    return [reason.constraint for reason in evaluate(target, effective, TODAY)]


def eligible_ids(catalog, effective, model=MODEL):
    return [e.id for e in resolve(catalog, model, effective, TODAY).eligible]


# --- parse_tag ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag", ["no-training", "zero-retention", "no-safety-retention", "no-publishing", "verified"]
)
def test_flag_tags_parse_to_themselves(tag):
    assert parse_tag(tag) == tag


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("HQ:us", "hq:US"),
        ("hq:De", "hq:DE"),
        ("region:EU", "region:eu"),
        ("Region:apac", "region:apac"),
        ("cert:SOC2", "cert:soc2"),
        ("cert:gdpr-dpa", "cert:gdpr-dpa"),
        ("No-Training", "no-training"),
    ],
)
def test_tags_are_normalised(tag, canonical):
    assert parse_tag(tag) == canonical


def test_parsing_a_canonical_tag_changes_nothing():
    for tag in ["hq:US", "region:eu", "cert:iso27001", "verified"]:
        assert parse_tag(parse_tag(tag)) == tag


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "training",
        "zero_retention",
        "no-training:yes",
        "cert:",
        "region:",
        "hq:",
        "hq:USA",
        "hq:1A",
        "cert:soc 2",
        "cert:-soc2",
        "region:eu:west",
        "provider:acme",
        ":eu",
    ],
)
def test_tags_outside_the_language_are_invalid(tag):
    with pytest.raises(InvalidTag):
        parse_tag(tag)


def test_invalid_tag_error_names_the_tag():
    with pytest.raises(InvalidTag) as raised:
        parse_tag("cert:")
    assert raised.value.tag == "cert:"
    assert isinstance(raised.value, ValueError)


def test_a_non_string_tag_is_invalid():
    with pytest.raises(InvalidTag):
        parse_tag(None)


def test_merge_rejects_an_unknown_required_tag():
    with pytest.raises(InvalidTag):
        request(require=frozenset({"no-trainng"}))


def test_merge_normalises_required_tags():
    effective = request(require=frozenset({"HQ:us", "region:EU"}))
    assert effective.require == {"hq:US", "region:eu"}
    assert effective.sources["require:hq:US"] == "request"


# --- Policy and Endpoint ------------------------------------------------------------------------


def test_a_default_policy_is_unknown_everywhere_and_stale():
    policy = Policy()
    assert (policy.training, policy.retention) == ("unknown", "unknown")
    assert (policy.safety_retention, policy.publishes_prompts) == ("unknown", "unknown")
    assert policy.regions == frozenset() and policy.headquarters is None
    assert policy.is_stale(TODAY)


def test_a_policy_is_stale_only_after_its_review_date():
    assert not Policy(review_due=TODAY).is_stale(TODAY)
    assert Policy(review_due=TODAY - timedelta(days=1)).is_stale(TODAY)


def test_policy_as_dict_is_json_ready_with_sorted_sets_and_iso_dates():
    policy = replace(SAFE, certifications=frozenset({"soc2", "hipaa"}), regions=frozenset({"us"}))
    data = policy.as_dict()
    assert data["certifications"] == ["hipaa", "soc2"]
    assert data["review_due"] == "2026-08-30"
    assert json.loads(json.dumps(data)) == data


def test_a_never_verified_policy_serialises_review_due_as_null():
    assert Policy().as_dict()["review_due"] is None


@pytest.mark.parametrize(
    "field", ["training", "retention", "safety_retention", "publishes_prompts"]
)
def test_a_policy_rejects_values_outside_its_vocabulary(field):
    with pytest.raises(ValueError, match=field):
        Policy(**{field: "maybe"})


# --- Catalog ------------------------------------------------------------------------------------


def test_a_catalog_lists_each_model_once():
    catalog = Catalog(1, [endpoint("a"), endpoint("b"), endpoint("a", model="acme/chat-2")])
    assert catalog.models() == {MODEL, "acme/chat-2"}


def test_a_models_endpoints_come_sorted_by_id():
    catalog = Catalog(1, [endpoint("zeta"), endpoint("alpha"), endpoint("mid")])
    assert [e.provider for e in catalog.endpoints_for(MODEL)] == ["alpha", "mid", "zeta"]


def test_anyapi_auto_means_every_endpoint_of_every_model():
    catalog = Catalog(1, [endpoint("a"), endpoint("b", model="other/m")])
    assert [e.id for e in catalog.endpoints_for("anyapi/auto")] == ["acme/chat-1@a", "other/m@b"]


def test_an_unknown_model_raises_unknown_model():
    catalog = Catalog(1, [endpoint()])
    with pytest.raises(UnknownModel):
        catalog.endpoints_for("nobody/nothing")
    with pytest.raises(UnknownModel):
        resolve(catalog, "nobody/nothing", EffectivePolicy(), TODAY)


def test_anyapi_auto_on_an_empty_catalog_has_no_endpoints():
    resolution = resolve(Catalog(1, []), "anyapi/auto", EffectivePolicy(), TODAY)
    assert resolution.eligible == resolution.excluded == resolution.relaxations == ()


def test_a_catalog_rejects_duplicate_endpoint_ids():
    with pytest.raises(ValueError, match="duplicate"):
        Catalog(1, [endpoint("a"), endpoint("a")])


def test_a_catalog_rejects_an_endpoint_claiming_the_auto_model():
    with pytest.raises(ValueError, match="reserved"):
        Catalog(1, [endpoint("a", model="anyapi/auto")])


def test_endpoints_with_equal_policies_share_one_policy_object():
    catalog = Catalog(1, [endpoint("a"), endpoint("b")])
    first, second = catalog.endpoints_for(MODEL)
    assert first.policy is second.policy


# --- One test per tag and reason code -----------------------------------------------------------


@pytest.mark.parametrize(
    ("training", "eligible"), [("no", True), ("yes", False), ("unknown", False)]
)
def test_no_training_accepts_only_training_no(training, eligible):
    assert (codes(endpoint(training=training), request(require={"no-training"})) == []) is eligible


def test_a_training_endpoint_fails_no_training_with_trains_on_data():
    reasons = evaluate(endpoint(training="yes"), request(require={"no-training"}), TODAY)
    assert reasons == (Reason("trains_on_data", "require:no-training", "request"),)


def test_training_not_allowed_excludes_endpoints_that_may_train():
    reasons = evaluate(endpoint(training="unknown"), request(training_allowed=False), TODAY)
    assert reasons == (Reason("trains_on_data", "training_allowed", "request"),)


def test_training_allowed_false_and_require_no_training_are_both_reported():
    effective = request(training_allowed=False, require={"no-training"})
    failed = constraints_failed(endpoint(training="yes"), effective)
    assert failed == ["training_allowed", "require:no-training"]


@pytest.mark.parametrize(
    ("limit", "retention", "days", "eligible"),
    [
        (30, "zero", None, True),
        (30, "days", 30, True),
        (30, "days", 31, False),
        (30, "indefinite", None, False),
        (30, "unknown", None, False),
        (0, "zero", None, True),
        (0, "days", 1, False),
        (3650, "indefinite", None, False),
    ],
)
def test_retention_limit_admits_only_provably_shorter_retention(limit, retention, days, eligible):
    target = endpoint(retention=retention, retention_days=days)
    assert (codes(target, request(retention_days=limit)) == []) is eligible


def test_retention_over_the_limit_is_retention_exceeds_limit():
    reasons = evaluate(
        endpoint(retention="days", retention_days=31), request(retention_days=30), TODAY
    )
    assert reasons == (Reason("retention_exceeds_limit", "retention_days", "request"),)


def test_days_retention_without_a_day_count_counts_as_unbounded():
    assert codes(endpoint(retention="days"), request(retention_days=365)) == [
        "retention_exceeds_limit"
    ]


@pytest.mark.parametrize("retention", ["days", "indefinite", "unknown"])
def test_zero_retention_requires_retention_zero(retention):
    target = endpoint(retention=retention, retention_days=1 if retention == "days" else None)
    assert codes(target, request(require={"zero-retention"})) == ["not_zero_retention"]


@pytest.mark.parametrize(
    ("safety", "eligible"), [("none", True), ("flagged_only", False), ("unknown", False)]
)
def test_no_safety_retention_accepts_only_none(safety, eligible):
    found = codes(endpoint(safety_retention=safety), request(require={"no-safety-retention"}))
    assert found == ([] if eligible else ["safety_retention"])


@pytest.mark.parametrize(
    ("publishes", "eligible"), [("no", True), ("yes", False), ("unknown", False)]
)
def test_no_publishing_accepts_only_publishes_no(publishes, eligible):
    found = codes(endpoint(publishes_prompts=publishes), request(require={"no-publishing"}))
    assert found == ([] if eligible else ["publishes_prompts"])


def test_each_missing_certification_is_its_own_reason():
    effective = request(require={"cert:soc2", "cert:hipaa", "cert:iso27001"})
    reasons = evaluate(endpoint(certifications=frozenset({"soc2"})), effective, TODAY)
    assert [(r.code, r.constraint) for r in reasons] == [
        ("missing_certification", "require:cert:hipaa"),
        ("missing_certification", "require:cert:iso27001"),
    ]


def test_certifications_compare_case_insensitively():
    assert codes(endpoint(certifications=frozenset({"SOC2"})), request(require={"cert:SOC2"})) == []


@pytest.mark.parametrize(
    ("regions", "eligible"),
    [({"eu"}, True), ({"EU"}, True), ({"us"}, False), ({"eu", "us"}, False), (set(), False)],
)
def test_region_requires_every_region_to_be_that_region(regions, eligible):
    found = codes(endpoint(regions=frozenset(regions)), request(require={"region:eu"}))
    assert found == ([] if eligible else ["region_mismatch"])


@pytest.mark.parametrize(
    ("hq", "eligible"), [("DE", True), ("de", True), ("US", False), (None, False)]
)
def test_hq_requires_that_headquarters(hq, eligible):
    found = codes(endpoint(headquarters=hq), request(require={"hq:de"}))
    assert found == ([] if eligible else ["hq_mismatch"])


@pytest.mark.parametrize(
    ("review_due", "eligible"),
    [
        (TODAY + timedelta(days=1), True),
        (TODAY, True),
        (TODAY - timedelta(days=1), False),
        (None, False),
    ],
)
def test_verified_excludes_stale_and_never_verified_policies(review_due, eligible):
    reasons = evaluate(endpoint(review_due=review_due), request(require={"verified"}), TODAY)
    expected = () if eligible else (Reason("policy_stale", "require:verified", "request"),)
    assert reasons == expected


def test_an_excluded_provider_is_provider_excluded():
    reasons = evaluate(endpoint("risky"), request(exclude={"risky", "other"}), TODAY)
    assert reasons == (Reason("provider_excluded", "exclude:risky", "request"),)


def test_a_provider_outside_only_is_provider_not_allowed():
    reasons = evaluate(endpoint("acme"), request(only=frozenset({"other"})), TODAY)
    assert reasons == (Reason("provider_not_allowed", "only", "request"),)


def test_a_disabled_endpoint_is_endpoint_disabled_from_the_catalog():
    reasons = evaluate(endpoint(enabled=False), EffectivePolicy(), TODAY)
    assert reasons == (Reason("endpoint_disabled", "endpoint", "catalog"),)


def test_every_failing_reason_is_reported():
    target = Endpoint(f"{MODEL}@risky", MODEL, "risky", Policy(), enabled=False)
    tags = {"no-safety-retention", "no-publishing", "cert:soc2", "region:eu", "hq:US", "verified"}
    effective = request(
        training_allowed=False,
        retention_days=30,
        require=tags,
        exclude={"risky"},
        only={"acme"},
    )
    assert sorted(codes(target, effective)) == sorted(
        [
            "trains_on_data",
            "safety_retention",
            "publishes_prompts",
            "missing_certification",
            "region_mismatch",
            "hq_mismatch",
            "retention_exceeds_limit",
            "policy_stale",
            "provider_excluded",
            "provider_not_allowed",
            "endpoint_disabled",
        ]
    )


def test_a_stale_policy_counts_as_unknown_when_the_account_says_so():
    stale = endpoint(review_due=TODAY - timedelta(days=1))
    effective = request(require={"no-training", "zero-retention"}, retention_days=0)
    assert codes(stale, effective) == []
    strict = replace(effective, stale_as_unknown=True)
    assert codes(stale, strict) == [
        "trains_on_data",
        "not_zero_retention",
        "retention_exceeds_limit",
    ]


def test_stale_as_unknown_leaves_fresh_policies_alone():
    effective = request(require={"no-training"}, stale_as_unknown=True)
    assert codes(endpoint(), effective) == []


def test_no_constraints_admit_even_an_unknown_policy():
    assert codes(endpoint(), EffectivePolicy()) == []
    assert evaluate(Endpoint("m@p", "m", "p", Policy()), EffectivePolicy(), TODAY) == ()


# --- Layering -----------------------------------------------------------------------------------

ACCOUNT, KEY, REQUEST = "account", "key", "request"


def layered(account=None, key=None, req=None):
    return merge(
        [
            (ACCOUNT, account or Constraints()),
            (KEY, key or Constraints()),
            (REQUEST, req or Constraints()),
        ]
    )


def test_training_is_allowed_when_no_layer_has_an_opinion():
    effective = layered()
    assert effective.training_allowed is True
    assert "training_allowed" not in effective.sources


def test_any_layer_forbidding_training_forbids_it():
    effective = layered(
        key=Constraints(training_allowed=False), req=Constraints(training_allowed=True)
    )
    assert effective.training_allowed is False
    assert effective.sources["training_allowed"] == KEY


def test_a_request_cannot_allow_training_the_account_forbids():
    effective = layered(
        account=Constraints(training_allowed=False), req=Constraints(training_allowed=True)
    )
    assert effective.training_allowed is False
    assert effective.sources["training_allowed"] == ACCOUNT


def test_retention_is_the_minimum_of_the_layers_that_set_it():
    effective = layered(account=Constraints(retention_days=30), req=Constraints(retention_days=7))
    assert effective.retention_days == 7
    assert effective.sources["retention_days"] == REQUEST


def test_a_request_cannot_raise_the_retention_limit():
    effective = layered(key=Constraints(retention_days=7), req=Constraints(retention_days=365))
    assert effective.retention_days == 7
    assert effective.sources["retention_days"] == KEY


def test_retention_is_none_when_no_layer_sets_it():
    assert layered().retention_days is None


def test_required_tags_are_the_union_sourced_to_the_first_layer_asking():
    effective = layered(
        account=Constraints(require=frozenset({"no-training"})),
        req=Constraints(require=frozenset({"no-training", "region:eu"})),
    )
    assert effective.require == {"no-training", "region:eu"}
    assert effective.sources["require:no-training"] == ACCOUNT
    assert effective.sources["require:region:eu"] == REQUEST


def test_excluded_providers_are_the_union():
    effective = layered(
        account=Constraints(exclude=frozenset({"a"})), req=Constraints(exclude=frozenset({"b"}))
    )
    assert effective.exclude == {"a", "b"}
    assert (effective.sources["exclude:a"], effective.sources["exclude:b"]) == (ACCOUNT, REQUEST)


def test_only_intersects_the_layers_that_set_it():
    effective = layered(
        account=Constraints(only=frozenset({"a", "b", "c"})),
        req=Constraints(only=frozenset({"b", "c", "d"})),
    )
    assert effective.only == {"b", "c"}
    assert effective.sources["only"] == "account,request"


def test_only_is_unrestricted_when_no_layer_sets_it():
    assert layered().only is None


def test_disjoint_only_lists_allow_no_provider():
    effective = layered(
        account=Constraints(only=frozenset({"a"})), req=Constraints(only=frozenset({"b"}))
    )
    catalog = Catalog(1, [endpoint("a"), endpoint("b")])
    assert effective.only == frozenset()
    assert eligible_ids(catalog, effective) == []


def test_order_comes_from_the_last_layer_that_sets_one():
    effective = layered(account=Constraints(order=("a",)), key=Constraints(order=("b",)))
    assert (effective.order, effective.sources["order"]) == (("b",), KEY)
    effective = layered(account=Constraints(order=("a",)), req=Constraints(order=("c", "a")))
    assert (effective.order, effective.sources["order"]) == (("c", "a"), REQUEST)


def test_classification_is_the_highest_of_the_layers():
    effective = layered(
        account=Constraints(classification="confidential"),
        req=Constraints(classification="internal"),
    )
    assert effective.classification == "confidential"
    assert effective.sources["classification"] == ACCOUNT


def test_classification_defaults_to_public():
    assert layered().classification == "public"


def test_stale_as_unknown_holds_if_any_layer_sets_it():
    assert layered(account=Constraints(stale_as_unknown=True)).stale_as_unknown is True
    assert layered().stale_as_unknown is False


def test_effective_policy_as_dict_is_json_ready_with_sources():
    effective = layered(
        account=Constraints(training_allowed=False, only=frozenset({"b", "a"})),
        req=Constraints(
            retention_days=30, require=frozenset({"zero-retention"}), exclude=frozenset({"x"})
        ),
    )
    data = effective.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["only"] == ["a", "b"]
    assert data["sources"] == {
        "exclude:x": REQUEST,
        "only": ACCOUNT,
        "require:zero-retention": REQUEST,
        "retention_days": REQUEST,
        "training_allowed": ACCOUNT,
    }


def test_constraints_reject_a_negative_retention_limit_and_an_unknown_classification():
    with pytest.raises(ValueError):
        Constraints(retention_days=-1)
    with pytest.raises(ValueError):
        Constraints(classification="secret")


# --- Classification presets ---------------------------------------------------------------------


def test_public_classification_adds_no_constraint():
    assert request(classification="public") == replace(
        request(), classification="public", sources={"classification": REQUEST}
    )


def test_internal_forbids_training_and_limits_retention_to_30_days():
    effective = request(classification="internal")
    assert (effective.training_allowed, effective.retention_days) == (False, 30)
    assert effective.sources["training_allowed"] == "request:classification=internal"
    assert effective.sources["retention_days"] == "request:classification=internal"


def test_confidential_requires_no_training_and_zero_retention_but_not_safety_retention():
    effective = request(classification="confidential")
    assert (effective.training_allowed, effective.retention_days) == (False, 0)
    assert effective.require == {"zero-retention"}
    assert effective.sources["require:zero-retention"] == "request:classification=confidential"


def test_regulated_adds_verified_and_the_accounts_certifications():
    effective = merge(
        [
            (ACCOUNT, Constraints(regulated_certifications=frozenset({"hipaa", "SOC2"}))),
            (KEY, Constraints(classification="regulated")),
        ]
    )
    assert effective.require == {
        "zero-retention",
        "verified",
        "cert:hipaa",
        "cert:soc2",
    }
    assert effective.sources["require:cert:hipaa"] == "key:classification=regulated"
    assert effective.classification == "regulated"


def test_an_explicit_stricter_value_keeps_its_own_source_over_the_preset():
    effective = request(classification="internal", retention_days=7)
    assert effective.retention_days == 7
    assert effective.sources["retention_days"] == REQUEST


def test_a_preset_tightens_a_looser_explicit_value():
    effective = merge(
        [
            (ACCOUNT, Constraints(retention_days=90)),
            (REQUEST, Constraints(classification="internal")),
        ]
    )
    assert effective.retention_days == 30
    assert effective.sources["retention_days"] == "request:classification=internal"


def test_confidential_admits_zero_retention_endpoints_that_may_keep_flagged_content():
    catalog = Catalog(
        1,
        [
            endpoint("good"),
            endpoint("flags", safety_retention="flagged_only"),
            endpoint("keeps", retention="days", retention_days=1),
            endpoint("trains", training="yes"),
        ],
    )
    found = eligible_ids(catalog, request(classification="confidential"))
    assert found == [f"{MODEL}@flags", f"{MODEL}@good"]


def test_safety_retention_is_its_own_choice_beside_a_preset():
    catalog = Catalog(1, [endpoint("good"), endpoint("flags", safety_retention="flagged_only")])
    effective = request(classification="confidential", require=frozenset({"no-safety-retention"}))
    assert eligible_ids(catalog, effective) == [f"{MODEL}@good"]


# --- Resolve: ordering and shape ----------------------------------------------------------------


def test_eligible_endpoints_default_to_id_order():
    catalog = Catalog(1, [endpoint("c"), endpoint("a"), endpoint("b")])
    assert eligible_ids(catalog, EffectivePolicy()) == [f"{MODEL}@a", f"{MODEL}@b", f"{MODEL}@c"]


def test_order_puts_preferred_providers_first_in_the_order_given():
    catalog = Catalog(1, [endpoint(p) for p in "abcd"])
    found = eligible_ids(catalog, request(order=("c", "missing", "b")))
    assert found == [f"{MODEL}@{p}" for p in "cbad"]


def test_order_is_only_a_preference_and_never_admits_an_excluded_endpoint():
    catalog = Catalog(1, [endpoint("a"), endpoint("b", training="yes")])
    found = eligible_ids(catalog, request(order=("b",), training_allowed=False))
    assert found == [f"{MODEL}@a"]


def test_order_applies_across_models_for_anyapi_auto():
    catalog = Catalog(
        1, [endpoint("a", model="m/1"), endpoint("b", model="m/2"), endpoint("a", model="m/3")]
    )
    found = eligible_ids(catalog, request(order=("b",)), model="anyapi/auto")
    assert found == ["m/2@b", "m/1@a", "m/3@a"]


def test_excluded_endpoints_come_in_id_order_with_their_reasons():
    catalog = Catalog(
        1, [endpoint("c", training="yes"), endpoint("a", training="yes"), endpoint("b")]
    )
    resolution = resolve(catalog, MODEL, request(training_allowed=False), TODAY)
    assert [x.endpoint.provider for x in resolution.excluded] == ["a", "c"]
    assert all(
        x.reasons == (Reason("trains_on_data", "training_allowed", "request"),)
        for x in resolution.excluded
    )


def test_a_resolution_records_model_catalog_version_and_effective_policy():
    effective = request(retention_days=30)
    resolution = resolve(Catalog(7, [endpoint()]), MODEL, effective, TODAY)
    assert (resolution.model, resolution.catalog_version, resolution.effective) == (
        MODEL,
        7,
        effective,
    )


def test_resolve_reports_the_same_reasons_as_evaluate():
    targets = [endpoint("a", training="yes"), endpoint("b", regions=frozenset()), endpoint("c")]
    effective = request(training_allowed=False, require={"region:eu"}, exclude={"c"})
    resolution = resolve(Catalog(1, targets), MODEL, effective, TODAY)
    assert {x.endpoint.id: x.reasons for x in resolution.excluded} == {
        t.id: evaluate(t, effective, TODAY) for t in targets
    }


# --- Relaxations --------------------------------------------------------------------------------


def test_nothing_is_relaxed_while_an_endpoint_is_eligible():
    catalog = Catalog(1, [endpoint("a"), endpoint("b", training="yes")])
    assert resolve(catalog, MODEL, request(training_allowed=False), TODAY).relaxations == ()


def test_relaxing_retention_names_the_smallest_limit_that_unlocks_an_endpoint():
    catalog = Catalog(
        1,
        [
            endpoint("a", retention="days", retention_days=7),
            endpoint("b", retention="days", retention_days=14),
            endpoint("c", retention="days", retention_days=30),
        ],
    )
    resolution = resolve(catalog, MODEL, request(retention_days=1), TODAY)
    (relaxation,) = resolution.relaxations
    assert relaxation.constraints == ("retention_days",)
    assert relaxation.description == "allowing 7-day retention unlocks 1 endpoint"
    assert relaxation.unlocks == (f"{MODEL}@a",)


def test_a_finite_longer_limit_is_smaller_than_dropping_the_limit():
    catalog = Catalog(
        1,
        [endpoint("a", retention="indefinite"), endpoint("b", retention="days", retention_days=90)],
    )
    (relaxation,) = resolve(catalog, MODEL, request(retention_days=30), TODAY).relaxations
    assert relaxation.description == "allowing 90-day retention unlocks 1 endpoint"


def test_relaxing_retention_for_unbounded_retention_drops_the_limit():
    catalog = Catalog(1, [endpoint("a", retention="unknown")])
    (relaxation,) = resolve(catalog, MODEL, request(retention_days=30), TODAY).relaxations
    assert relaxation.description == "dropping retention_days (request) unlocks 1 endpoint"


def test_relaxing_a_tag_names_it_and_its_source():
    catalog = Catalog(
        1, [endpoint("a", retention="days", retention_days=5), endpoint("b", retention="unknown")]
    )
    (relaxation,) = resolve(catalog, MODEL, request(require={"zero-retention"}), TODAY).relaxations
    assert relaxation.constraints == ("require:zero-retention",)
    assert relaxation.description == "dropping require:zero-retention (request) unlocks 2 endpoints"


def test_relaxation_prefers_the_fewest_constraints():
    catalog = Catalog(
        1,
        [
            endpoint("a", training="yes", publishes_prompts="yes"),
            endpoint("b", training="yes", publishes_prompts="yes"),
            endpoint("c", regions=frozenset({"us"})),
        ],
    )
    effective = request(training_allowed=False, require={"no-publishing", "region:eu"})
    (relaxation,) = resolve(catalog, MODEL, effective, TODAY).relaxations
    assert relaxation.constraints == ("require:region:eu",)
    assert relaxation.unlocks == (f"{MODEL}@c",)


def test_tied_relaxations_are_sorted_by_most_unlocked_and_capped_at_three():
    catalog = Catalog(
        1,
        [
            endpoint("a1", training="yes"),
            endpoint("b1", publishes_prompts="yes"),
            endpoint("b2", publishes_prompts="yes"),
            endpoint("c1", headquarters="US"),
            endpoint("c2", headquarters="US"),
            endpoint("c3", headquarters="US"),
            endpoint("d1", regions=frozenset({"us"})),
        ],
    )
    effective = request(require={"no-training", "no-publishing", "hq:DE", "region:eu"})
    relaxations = resolve(catalog, MODEL, effective, TODAY).relaxations
    assert [r.constraints for r in relaxations] == [
        ("require:hq:DE",),
        ("require:no-publishing",),
        ("require:no-training",),
    ]
    assert [len(r.unlocks) for r in relaxations] == [3, 2, 1]


def test_a_relaxation_of_several_constraints_describes_each():
    catalog = Catalog(1, [endpoint("a", training="yes", retention="days", retention_days=14)])
    effective = merge(
        [
            (ACCOUNT, Constraints(classification="internal")),
            (REQUEST, Constraints(retention_days=7)),
        ]
    )
    (relaxation,) = resolve(catalog, MODEL, effective, TODAY).relaxations
    assert relaxation.constraints == ("retention_days", "training_allowed")
    assert relaxation.description == (
        "allowing 14-day retention and dropping training_allowed (account:classification=internal)"
        " unlocks 1 endpoint"
    )


def test_disabled_endpoints_are_never_offered_as_relaxations():
    catalog = Catalog(
        1, [endpoint("a", enabled=False), endpoint("b", training="yes", publishes_prompts="yes")]
    )
    effective = request(require={"no-training", "no-publishing"})
    (relaxation,) = resolve(catalog, MODEL, effective, TODAY).relaxations
    assert relaxation.unlocks == (f"{MODEL}@b",)
    assert relaxation.constraints == ("require:no-publishing", "require:no-training")


def test_no_relaxation_when_every_endpoint_is_disabled():
    catalog = Catalog(1, [endpoint("a", enabled=False)])
    assert resolve(catalog, MODEL, EffectivePolicy(), TODAY).relaxations == ()


def test_relaxing_a_provider_exclusion_names_the_provider():
    catalog = Catalog(1, [endpoint("a")])
    effective = merge([(ACCOUNT, Constraints(exclude=frozenset({"a"})))])
    (relaxation,) = resolve(catalog, MODEL, effective, TODAY).relaxations
    assert relaxation.description == "dropping exclude:a (account) unlocks 1 endpoint"


# --- EffectivePolicy.without --------------------------------------------------------------------


def test_without_lifts_the_named_constraints_and_their_sources():
    effective = request(
        training_allowed=False,
        retention_days=0,
        require={"verified"},
        exclude={"x"},
        only=frozenset({"a"}),
    )
    lifted = effective.without(
        ["training_allowed", "retention_days", "require:verified", "exclude:x", "only"]
    )
    assert lifted == replace(EffectivePolicy(), sources={})


def test_without_refuses_what_is_not_a_relaxable_constraint():
    with pytest.raises(ValueError):
        EffectivePolicy().without(["endpoint"])


# --- The same effective policy, request after request ---------------------------------------------


def test_a_policy_that_goes_stale_overnight_is_refused_the_next_day_by_the_same_effective_policy():
    catalog = Catalog(1, [endpoint(review_due=TODAY)])
    effective = request(require={"verified"})
    assert eligible_ids(catalog, effective) == [f"{MODEL}@acme"]

    tomorrow = resolve(catalog, MODEL, effective, TODAY + timedelta(days=1))

    assert tomorrow.eligible == ()
    assert [r.code for r in tomorrow.excluded[0].reasons] == ["policy_stale"]


def test_an_effective_policy_reused_on_a_recompiled_catalog_answers_for_the_new_catalog():
    effective = request(training_allowed=False)
    before = Catalog(1, [endpoint(training="no")])
    assert eligible_ids(before, effective) == [f"{MODEL}@acme"]

    after = Catalog(2, [endpoint(training="yes")])

    assert eligible_ids(after, effective) == []
    assert eligible_ids(before, effective) == [f"{MODEL}@acme"]


def test_relaxations_are_the_same_however_often_the_request_is_resolved():
    catalog = Catalog(
        1,
        [
            endpoint("a", training="yes"),
            endpoint("b", retention="days", retention_days=30),
            endpoint("c", enabled=False),
        ],
    )
    effective = request(training_allowed=False, retention_days=0)

    first, again = (resolve(catalog, MODEL, effective, TODAY) for _ in range(2))

    assert first == again
    assert [r.unlocks for r in first.relaxations] == [(f"{MODEL}@b",), (f"{MODEL}@a",)]


# --- resolve_cached -----------------------------------------------------------------------------


def _layers(**constraints):
    return (("request", Constraints(**constraints)),)


def test_a_kept_resolution_is_the_same_answer_resolve_gives():
    catalog = Catalog(1, [endpoint("acme"), endpoint("month", retention="days", retention_days=30)])
    effective = merge_cached(_layers(retention_days=0))
    kept = resolve_cached(catalog, MODEL, effective, TODAY)
    assert kept == resolve(catalog, MODEL, effective, TODAY)
    assert resolve_cached(catalog, MODEL, merge_cached(_layers(retention_days=0)), TODAY) is kept


def test_a_new_catalog_a_new_day_or_another_policy_is_never_served_a_kept_resolution():
    before = Catalog(7, [endpoint("acme")])
    after = Catalog(7, [endpoint("acme", training="yes")])  # same version number, new content
    strict = merge_cached(_layers(training_allowed=False))
    assert [e.id for e in resolve_cached(before, MODEL, strict, TODAY).eligible] == [
        f"{MODEL}@acme"
    ]
    assert resolve_cached(after, MODEL, strict, TODAY).eligible == ()
    lenient = merge_cached(_layers(training_allowed=True))
    assert len(resolve_cached(after, MODEL, lenient, TODAY).eligible) == 1
    review_due = TODAY + timedelta(days=90)
    stale_after = merge_cached(_layers(stale_as_unknown=True, training_allowed=False))
    assert len(resolve_cached(before, MODEL, stale_after, TODAY).eligible) == 1
    later = review_due + timedelta(days=1)
    assert resolve_cached(before, MODEL, stale_after, later).eligible == ()


def test_kept_resolutions_are_forgotten_once_they_hold_more_endpoints_than_the_budget():
    kept = _Resolutions(budget=5)
    catalog = Catalog(1, [endpoint("a"), endpoint("b")])
    effective = merge_cached(_layers())
    answer = resolve(catalog, MODEL, effective, TODAY)  # holds 1 + 2 endpoints
    kept.keep(("first",), answer)
    assert kept.get(("first",)) is answer
    kept.keep(("second",), answer)  # 6 > 5: everything kept so far is forgotten first
    assert kept.get(("first",)) is None
    assert kept.get(("second",)) is answer
