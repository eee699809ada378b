"""The request mapping (catalog/policy/request.py): plain Python, no database."""

import json
from datetime import date

import pytest

from catalog.policy import request as mapping
from catalog.policy.resolver import Catalog, Endpoint, Policy, UnknownModel, merge, resolve

TODAY = date(2026, 12, 1)
ZERO = Policy(training="no", retention="zero", review_due=date(2099, 1, 1))
MONTH = Policy(training="no", retention="days", retention_days=30, review_due=date(2099, 1, 1))
SLUGS = ("amazon-bedrock", "together", "deepinfra")
DISPLAY_NAMES = {"Amazon Bedrock": "amazon-bedrock", "Together AI": "together"}
NAMES = {
    mapping.name_key(name): slug
    for name, slug in [*zip(SLUGS, SLUGS, strict=True), *DISPLAY_NAMES.items()]
}


def named(name):
    return mapping.provider_named(NAMES, name)


def catalog() -> Catalog:
    endpoints = [
        Endpoint(f"{model}@{provider}", model, provider, policy)
        for model, provider, policy in [
            ("acme/chat", "amazon-bedrock", ZERO),
            ("acme/chat", "together", MONTH),
            ("acme/chat", "deepinfra", Policy()),
            ("acme/chat:free", "deepinfra", Policy()),
            ("acme/other", "together", MONTH),
        ]
    ]
    return Catalog(1, endpoints)


def mapped(body: dict) -> mapping.MappedRequest:
    raw = json.dumps(body).encode()
    unknown = mapping.unknown_provider_fields(raw)
    return mapping.map_request(mapping.decode(raw), catalog().models(), named, unknown)


def eligible(body: dict) -> list[str]:
    request = mapped(body)
    effective = merge([("request", request.constraints)])
    return [e.id for e in resolve(catalog(), request.models[0], effective, TODAY).eligible]


# --- Decoding -----------------------------------------------------------------------------------


def test_messages_and_other_chat_fields_are_skipped_by_the_decoder():
    body = {"model": "acme/chat", "messages": [{"role": "user", "content": "x" * 10_000}]}
    decoded = mapping.decode(json.dumps({**body, "temperature": 2, "tools": [{}]}).encode())
    assert not hasattr(decoded, "messages") and decoded.model == "acme/chat"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"model": "acme/chat", "provider": {"order": [1]}}', "provider.order.0"),
        (
            '{"model": "acme/chat", "data_policy": {"retention_days": -1}}',
            "data_policy.retention_days",
        ),
        (
            '{"model": "acme/chat", "data_policy": {"retention_days": true}}',
            "data_policy.retention_days",
        ),
        ('{"model": "acme/chat", "providers": {"exlude": ["x"]}}', "providers.exlude"),
        ('{"model": "acme/chat", "data_policy": {"training": false}}', "data_policy.training"),
        (
            '{"model": "acme/chat", "provider": {"data_collection": "Deny"}}',
            "provider.data_collection",
        ),
        ('{"model": "acme/chat", "models": "acme/other"}', "models"),
        ("[]", "body"),
        ("{not json", "body"),
    ],
)
def test_a_malformed_field_is_named_by_its_path(body, field):
    with pytest.raises(mapping.RequestError) as error:
        mapping.decode(body.encode())
    assert error.value.field == field and str(error.value).startswith(f"{field}: ")


def test_an_unknown_field_of_our_blocks_is_refused_naming_the_known_ones():
    with pytest.raises(mapping.RequestError, match="known: require, exclude, only, order"):
        mapping.decode(b'{"model": "m", "providers": {"requires": ["no-training"]}}')


def test_an_unknown_field_of_openrouters_block_is_skipped():
    assert mapping.decode(b'{"model": "m", "provider": {"experimental": {"x": 1}}}').provider


# --- Nulls and empty lists ----------------------------------------------------------------------


def test_null_means_unset_for_every_field():
    body = {
        "model": "acme/chat",
        "models": None,
        "classification": None,
        "data_policy": {"training_allowed": None, "retention_days": None},
        "providers": {"require": None, "exclude": None, "only": None, "order": None},
        "provider": {key: None for key in mapping.OpenRouterProvider.__struct_fields__},
        "route": None,
        "plugins": None,
    }
    request = mapped(body)
    assert request.constraints == mapped({"model": "acme/chat"}).constraints
    assert request.ignored == () and request.warnings == ()


def test_null_blocks_mean_unset():
    body = {"model": "acme/chat", "data_policy": None, "providers": None, "provider": None}
    assert len(eligible(body)) == 3


@pytest.mark.parametrize("block", ["providers", "provider"])
def test_an_empty_only_list_is_no_allowlist(block):
    assert mapped({"model": "acme/chat", block: {"only": []}}).constraints.only is None
    assert len(eligible({"model": "acme/chat", block: {"only": []}})) == 3


# --- The provider block -------------------------------------------------------------------------


def test_data_collection_deny_and_zdr_become_required_tags():
    request = mapped({"model": "acme/chat", "provider": {"data_collection": "deny", "zdr": True}})
    assert request.constraints.require == {"no-training", "zero-retention"}


def test_allow_fallbacks_false_makes_order_hard():
    body = {"model": "acme/chat", "provider": {"order": ["together"], "allow_fallbacks": False}}
    assert eligible(body) == ["acme/chat@together"]
    assert "provider.allow_fallbacks" not in mapped(body).ignored


def test_order_stays_soft_when_fallbacks_are_allowed():
    body = {"model": "acme/chat", "provider": {"order": ["deepinfra"], "allow_fallbacks": True}}
    assert eligible(body)[0] == "acme/chat@deepinfra" and len(eligible(body)) == 3


def test_hard_order_intersects_with_only():
    body = {
        "model": "acme/chat",
        "providers": {"only": ["together", "deepinfra"]},
        "provider": {"order": ["deepinfra", "amazon-bedrock"], "allow_fallbacks": False},
    }
    assert eligible(body) == ["acme/chat@deepinfra"]


def test_allow_fallbacks_without_an_order_is_ignored():
    assert mapped({"model": "m", "provider": {"allow_fallbacks": False}}).ignored == (
        "provider.allow_fallbacks",
    )


def test_every_routing_only_field_the_request_carried_is_listed_in_ignored():
    provider = {
        "sort": {"by": "price", "partition": "none"},
        "max_price": {"prompt": 1, "completion": 2},
        "quantizations": ["fp8"],
        "require_parameters": True,
        "preferred_min_throughput": {"p90": 50},
        "preferred_max_latency": 3,
        "enforce_distillable_text": False,
    }
    request = mapped({"model": "acme/chat", "provider": provider, "route": "fallback"})
    assert set(request.ignored) == {"route", *(f"provider.{key}" for key in provider)}
    assert request.constraints == mapped({"model": "acme/chat"}).constraints


def test_a_provider_block_key_this_service_does_not_know_is_listed_in_ignored_not_dropped():
    provider = {"data_collection": "deny", "experimental": {"x": [1, 2]}, "min_throughput": 9}
    request = mapped({"model": "acme/chat", "provider": provider})
    assert request.ignored == ("provider.experimental", "provider.min_throughput")
    assert (
        request.constraints
        == mapped({"model": "acme/chat", "provider": {"data_collection": "deny"}}).constraints
    )


def test_unknown_provider_fields_read_bytes_and_decoded_json_alike():
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "provider": {"zdr": True, "new_knob": None},
    }
    assert mapping.unknown_provider_fields(json.dumps(body).encode()) == ("provider.new_knob",)
    assert mapping.unknown_provider_fields(body) == ("provider.new_knob",)
    assert (
        mapping.unknown_provider_fields(json.dumps({"model": "m", "provider": None}).encode()) == ()
    )
    assert mapping.unknown_provider_fields({"model": "m"}) == ()


# --- Provider names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["amazon-bedrock", "Amazon Bedrock", "AMAZON BEDROCK", "amazon_bedrock", "amazon-bedrock/eu"],
)
def test_a_provider_is_named_by_slug_display_name_or_endpoint_tag_in_any_case(name):
    assert named(name) == "amazon-bedrock"


def test_an_endpoint_tag_names_its_provider_everywhere_names_are_read():
    body = {"model": "acme/chat", "provider": {"only": ["deepinfra/turbo"]}}
    assert eligible(body) == ["acme/chat@deepinfra"] and mapped(body).warnings == ()


def test_a_name_that_is_no_provider_and_no_tag_of_one_names_nothing():
    assert named("Ghost") is None and named("ghost/turbo") is None and named("") is None


def test_unknown_names_in_only_and_order_are_reported_never_dropped_silently():
    body = {
        "model": "acme/chat",
        "providers": {"order": ["Nobody Inc"]},
        "provider": {"only": ["together", "Ghost"], "ignore": ["high-risk-provider"]},
    }
    warnings = {(w.code, w.field) for w in mapped(body).warnings}
    assert warnings == {
        ("unknown_provider", "providers.order.0"),
        ("unknown_provider", "provider.only.1"),
        ("unknown_provider", "provider.ignore.0"),
    }
    assert eligible(body) == ["acme/chat@together"]


def test_allowing_only_unknown_providers_leaves_nothing_eligible():
    assert eligible({"model": "acme/chat", "provider": {"only": ["Ghost"]}}) == []
    hard = {"model": "acme/chat", "provider": {"order": ["Ghost"], "allow_fallbacks": False}}
    assert eligible(hard) == []


def test_excluding_an_unknown_provider_is_harmless():
    assert len(eligible({"model": "acme/chat", "provider": {"ignore": ["Ghost"]}})) == 3


def test_names_in_exclude_are_resolved_to_slugs():
    body = {"model": "acme/chat", "providers": {"exclude": ["Together AI", "DEEPINFRA"]}}
    assert eligible(body) == ["acme/chat@amazon-bedrock"]


# --- Models -------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["nitro", "floor", "exacto"])
def test_routing_variants_resolve_the_base_model(variant):
    assert mapped({"model": f"acme/chat:{variant}"}).models == ("acme/chat",)


def test_a_variant_the_catalog_lists_as_its_own_model_is_that_model():
    assert mapped({"model": "acme/chat:free"}).models == ("acme/chat:free",)


def test_openrouter_auto_is_anyapi_auto():
    assert mapped({"model": "openrouter/auto"}).models == ("anyapi/auto",)


@pytest.mark.parametrize("body", [{"model": "acme/chat:online"}, {"models": ["acme/chat:online"]}])
def test_the_online_variant_is_refused(body):
    with pytest.raises(mapping.RequestError, match="search provider"):
        mapped(body)


def test_the_web_search_plugin_is_refused_and_other_plugins_are_ignored():
    with pytest.raises(mapping.RequestError) as error:
        mapped({"model": "acme/chat", "plugins": [{"id": "file-parser"}, {"id": "web"}]})
    assert error.value.field == "plugins.1.id"
    assert mapped({"model": "acme/chat", "plugins": [{"id": "file-parser"}]}).ignored == (
        "plugins.0",
    )


def test_a_models_list_may_stand_instead_of_model():
    assert mapped({"models": ["acme/other", "acme/chat"]}).models == ("acme/other", "acme/chat")


def test_model_comes_first_then_the_models_list_without_repeats():
    body = {"model": "acme/chat", "models": ["acme/chat:nitro", "acme/other"]}
    assert mapped(body).models == ("acme/chat", "acme/other")


def test_no_model_at_all_is_refused():
    with pytest.raises(mapping.RequestError) as error:
        mapped({"models": []})
    assert error.value.field == "model"


def test_unknown_models_in_a_fallback_list_are_reported():
    request = mapped({"models": ["ghost/model", "acme/chat"]})
    assert [(w.code, w.field) for w in request.warnings] == [("unknown_model", "models.0")]


def _resolver_for(body):
    request = mapped(body)
    effective = merge([("request", request.constraints)])
    return request.models, lambda model: resolve(catalog(), model, effective, TODAY)


def test_the_answer_is_for_the_first_model_with_an_eligible_endpoint():
    models, resolve_one = _resolver_for(
        {"models": ["ghost/model", "acme/other", "acme/chat"], "provider": {"zdr": True}}
    )
    assert mapping.first_eligible(models, resolve_one).model == "acme/chat"


def test_with_nothing_eligible_the_answer_is_for_the_first_known_model():
    body = {"models": ["ghost/model", "acme/other"], "provider": {"only": ["Ghost"]}}
    models, resolve_one = _resolver_for(body)
    resolution = mapping.first_eligible(models, resolve_one)
    assert resolution.model == "acme/other" and not resolution.eligible


def test_only_unknown_models_is_unknown_model_naming_the_first():
    models, resolve_one = _resolver_for({"models": ["ghost/one", "ghost/two"]})
    with pytest.raises(UnknownModel) as error:
        mapping.first_eligible(models, resolve_one)
    assert error.value.model == "ghost/one"
