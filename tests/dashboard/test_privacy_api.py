import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.policy import resolver
from catalog.policy.vocabulary import Classification, values
from dashboard import privacy
from dashboard.models import ApiKey, AuditEvent
from tests.catalog.conftest import SMALL_CATALOG

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(personas):
    _, management = ApiKey.issue(name="ops", kind=ApiKey.Kind.MANAGEMENT, account=personas.account)
    gateway, inference = ApiKey.issue(name="gateway", account=personas.account)
    return {"management": management, "inference": inference, "gateway": gateway}


def _call(client, method, path, secret, body=None):
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_a_new_account_starts_on_the_internal_class(client, keys):
    body = _call(client, "get", "/api/v1/account/privacy", keys["management"]).json()
    assert body["classification"] == "internal" and body["training_allowed"] is None


def test_replacing_the_defaults_is_audited_with_the_key_as_actor(client, keys, personas):
    wanted = {
        "training_allowed": False,
        "retention_days": 7,
        "require": ["NO-training"],
        "regulated_certifications": ["soc2"],
    }
    body = _call(client, "put", "/api/v1/account/privacy", keys["management"], wanted).json()
    assert body["require"] == ["no-training"] and body["classification"] is None
    event = AuditEvent.objects.get(action="privacy.defaults_changed")
    assert event.actor_label.startswith("api key ") and event.account == personas.account
    assert event.before["classification"] == "internal" and event.after["retention_days"] == 7


def test_an_inference_key_cannot_change_configuration(client, keys):
    response = _call(client, "put", "/api/v1/account/privacy", keys["inference"], {})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_key_kind"


def test_configuration_typos_are_refused_not_ignored(client, keys):
    response = _call(
        client, "put", "/api/v1/account/privacy", keys["management"], {"retention_dayz": 7}
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "retention_dayz"


def test_a_guardrail_looser_than_the_account_is_422_naming_the_field(client, keys):
    _call(client, "put", "/api/v1/account/privacy", keys["management"], {"retention_days": 30})
    response = _call(
        client,
        "put",
        f"/api/v1/keys/{keys['gateway'].prefix}/guardrail",
        keys["management"],
        {"retention_days": 90},
    )
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "guardrail_looser_than_account"
    assert error["field"] == "retention_days" and "30 days" in error["message"]


def test_a_stricter_guardrail_applies_to_that_key_only(client, keys, personas, small_catalog):
    _call(client, "put", "/api/v1/account/privacy", keys["management"], {})
    _call(
        client,
        "put",
        f"/api/v1/keys/{keys['gateway'].prefix}/guardrail",
        keys["management"],
        {"require": ["zero-retention"]},
    )
    body = _call(
        client, "post", "/api/v1/policy/resolve", keys["inference"], {"model": "acme/chat"}
    ).json()
    assert [e["endpoint"] for e in body["eligible"]] == ["acme/chat@safe-ai"]
    assert body["effective_policy"]["sources"]["require:zero-retention"] == "key"
    other = ApiKey.issue(name="other", account=personas.account)[1]
    body = _call(client, "post", "/api/v1/policy/resolve", other, {"model": "acme/chat"}).json()
    assert len(body["eligible"]) == 3
    assert AuditEvent.objects.filter(action="privacy.guardrail_changed").count() == 1


def test_a_request_cannot_loosen_the_account(client, keys, small_catalog):
    _call(client, "put", "/api/v1/account/privacy", keys["management"], {"training_allowed": False})
    body = _call(
        client,
        "post",
        "/api/v1/policy/resolve",
        keys["inference"],
        {"model": "acme/chat", "data_policy": {"training_allowed": True}},
    ).json()
    assert "acme/chat@free-ai" not in [e["endpoint"] for e in body["eligible"]]
    assert body["effective_policy"]["sources"]["training_allowed"] == "account"


def test_another_accounts_key_guardrail_is_404(client, keys, personas):
    theirs, _ = ApiKey.issue(name="theirs", account=personas.other_account)
    response = _call(client, "get", f"/api/v1/keys/{theirs.prefix}/guardrail", keys["management"])
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_for_me_applies_the_account_and_the_key(client, keys, small_catalog):
    _call(client, "put", "/api/v1/account/privacy", keys["management"], {"training_allowed": False})
    _call(
        client,
        "put",
        f"/api/v1/keys/{keys['gateway'].prefix}/guardrail",
        keys["management"],
        {"retention_days": 0},
    )
    body = _call(client, "get", "/api/v1/catalog/endpoints?for=me", keys["inference"]).json()
    assert [e["endpoint"] for e in body["endpoints"]] == ["acme/chat@safe-ai"]


def test_a_changed_default_reaches_the_next_resolve(
    client, keys, small_catalog, django_capture_on_commit_callbacks
):
    _call(client, "put", "/api/v1/account/privacy", keys["management"], {})
    first = _call(
        client, "post", "/api/v1/policy/resolve", keys["inference"], {"model": "acme/chat"}
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        _call(client, "put", "/api/v1/account/privacy", keys["management"], {"only": ["safe-ai"]})
    second = _call(
        client, "post", "/api/v1/policy/resolve", keys["inference"], {"model": "acme/chat"}
    ).json()
    assert len(first["eligible"]) == 3 and len(second["eligible"]) == 1


def test_the_account_and_key_layers_are_cached(keys, personas, django_assert_num_queries):
    privacy.layers_for_key(keys["gateway"])
    with django_assert_num_queries(0):
        privacy.layers_for_key(keys["gateway"])


# --- Laws: guardrails are never looser, and layering is never looser than any layer --------

TAGS = [
    "no-training",
    "zero-retention",
    "no-safety-retention",
    "no-publishing",
    "verified",
    "cert:soc2",
    "region:eu",
]
PROVIDERS = ["safe-ai", "month-ai", "free-ai"]
vocabularies = st.fixed_dictionaries(
    {
        "training_allowed": st.sampled_from([None, True, False]),
        "retention_days": st.one_of(st.none(), st.integers(0, 120)),
        "require": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
        "exclude": st.lists(st.sampled_from(PROVIDERS), unique=True, max_size=2),
        "only": st.one_of(st.none(), st.lists(st.sampled_from(PROVIDERS), unique=True, max_size=3)),
        "classification": st.sampled_from([None, *values(Classification)]),
    }
)


def _eligible(catalog, layers):
    resolution = resolver.resolve(
        catalog, "anyapi/auto", resolver.merge(layers), resolver.date(2026, 11, 29)
    )
    return {e.id for e in resolution.eligible}


@pytest.fixture(scope="module")
def compiled_small_catalog(django_db_blocker, django_db_setup):
    from django.db import transaction

    from catalog.policy.compile import compile_catalog

    with django_db_blocker.unblock(), transaction.atomic():
        Loader().load(parse_catalog(SMALL_CATALOG))
        catalog = compile_catalog()
        transaction.set_rollback(True)
    return catalog


COMPARABLE_FIELDS = ("training_allowed", "retention_days", "only", "classification")
NOTHING = {
    "training_allowed": None,
    "retention_days": None,
    "require": [],
    "exclude": [],
    "only": None,
    "classification": None,
}


def _just(vocabulary, field):
    return privacy.constraints_from({**NOTHING, field: vocabulary[field]})


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(account=vocabularies, guardrail=vocabularies)
def test_no_guardrail_the_validator_accepts_is_looser_than_the_account(
    compiled_small_catalog, account, guardrail
):
    if privacy.looser_fields(account, guardrail):
        return
    for field in COMPARABLE_FIELDS:
        if account[field] is None or guardrail[field] is None:
            continue  # a layer that says nothing about a field loosens nothing
        admitted_by_key = _eligible(compiled_small_catalog, [("key", _just(guardrail, field))])
        admitted_by_account = _eligible(
            compiled_small_catalog, [("account", _just(account, field))]
        )
        assert admitted_by_key <= admitted_by_account, field


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(account=vocabularies, guardrail=vocabularies, request_=vocabularies)
def test_the_effective_policy_is_at_least_as_strict_as_each_layer(
    compiled_small_catalog, account, guardrail, request_
):
    layers = [
        ("account", privacy.constraints_from(account)),
        ("key", privacy.constraints_from(guardrail)),
        ("request", privacy.constraints_from(request_)),
    ]
    effective = _eligible(compiled_small_catalog, layers)
    for layer in layers:
        assert effective <= _eligible(compiled_small_catalog, [layer])
