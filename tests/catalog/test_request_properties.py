"""The request mapping's law, on random catalogs, layers and bodies: OpenRouter's `provider` block
never loosens what our own blocks, the key or the account set."""

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.policy import request as mapping
from catalog.policy.resolver import merge
from tests.catalog.test_resolver_properties import (
    CLASSIFICATIONS,
    PROVIDERS,
    TAGS,
    catalogs,
    constraints,
    eligible_ids,
    modest,
)

# Names as clients write them: slugs, display names in other cases, endpoint tags, unknowns.
DISPLAY_NAMES = {"Alpha Cloud": "alpha", "Beta AI": "beta", "Gamma": "gamma"}
NAMES = (*PROVIDERS, "ALPHA CLOUD", "beta ai", "gamma/turbo", "delta/eu-west", "Ghost", "nobody")

thorough = settings(max_examples=600, deadline=None)
name_lists = st.none() | st.lists(st.sampled_from(NAMES), max_size=4)
maybe_bool = st.sampled_from((None, True, False))

our_blocks = st.fixed_dictionaries(
    {},
    optional={
        "classification": st.none() | st.sampled_from(CLASSIFICATIONS),
        "data_policy": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "training_allowed": maybe_bool,
                "retention_days": st.none() | st.integers(0, 60),
            },
        ),
        "providers": st.fixed_dictionaries(
            {},
            optional={
                "require": st.none() | st.lists(st.sampled_from(TAGS), max_size=3),
                "exclude": name_lists,
                "only": name_lists,
                "order": name_lists,
            },
        ),
    },
)
openrouter_blocks = st.fixed_dictionaries(
    {},
    optional={
        "data_collection": st.sampled_from((None, "allow", "deny")),
        "zdr": maybe_bool,
        "only": name_lists,
        "ignore": name_lists,
        "order": name_lists,
        "allow_fallbacks": maybe_bool,
        "sort": st.sampled_from((None, "price", "throughput")),
        "require_parameters": maybe_bool,
    },
)


INDEX = {
    mapping.name_key(name): slug
    for name, slug in [*zip(PROVIDERS, PROVIDERS, strict=True), *DISPLAY_NAMES.items()]
}


def named(name: str) -> str | None:
    return mapping.provider_named(INDEX, name)


def eligible(catalog, layers, body) -> set[str]:
    body = mapping.convert({"model": "anyapi/auto", **body})
    request = mapping.map_request(body, catalog.models(), named)
    return eligible_ids(catalog, "anyapi/auto", merge([*layers, ("request", request.constraints)]))


@modest
@given(catalogs, constraints, constraints, our_blocks, openrouter_blocks)
def test_a_provider_block_never_loosens_our_blocks_the_key_or_the_account(
    catalog, account, key, ours, theirs
):
    layers = [("account", account), ("key", key)]
    with_theirs = eligible(catalog, layers, {**ours, "provider": theirs})
    assert with_theirs <= eligible(catalog, layers, ours)
    assert with_theirs <= eligible_ids(catalog, "anyapi/auto", merge(layers))


@modest
@given(catalogs, our_blocks, openrouter_blocks)
def test_a_provider_block_never_loosens_our_blocks_alone(catalog, ours, theirs):
    # Without account and key layers most endpoints stay eligible, so a loosening shows.
    assert eligible(catalog, [], {**ours, "provider": theirs}) <= eligible(catalog, [], ours)


our_provider_lists = st.fixed_dictionaries(
    {
        "exclude": name_lists,
        "only": st.lists(st.sampled_from(NAMES), min_size=1, max_size=3),
        "order": name_lists,
    }
)
their_provider_lists = st.fixed_dictionaries(
    {"only": name_lists, "ignore": name_lists, "order": name_lists, "allow_fallbacks": maybe_bool}
)


@thorough
@given(catalogs, our_provider_lists, their_provider_lists)
def test_provider_names_in_the_provider_block_never_widen_our_lists(catalog, ours, theirs):
    # The same law with every name list present, so allowlists meet on most examples.
    with_theirs = eligible(catalog, [], {"providers": ours, "provider": theirs})
    assert with_theirs <= eligible(catalog, [], {"providers": ours})
