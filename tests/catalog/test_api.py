import json
import logging

import pytest

from catalog.models import PolicyVersion
from catalog.review.versions import approve, propose
from dashboard.models import ApiKey, PrivacyDefaults
from tests.canary import everything_cached, everything_stored

pytestmark = pytest.mark.django_db

CANARY = "CANARY-3b1f-confidential-financial-report"


@pytest.fixture
def secret(personas):
    # The account sets no defaults of its own, so these tests see the request layer alone.
    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    return ApiKey.issue(name="gateway", account=personas.account)[1]


@pytest.fixture
def resolve(client, secret, small_catalog):
    def post(body, key=None):
        return client.post(
            "/api/v1/policy/resolve",
            data=json.dumps(body) if not isinstance(body, str) else body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {key or secret}"},
        )

    return post


def test_resolve_returns_the_contract_shape(resolve):
    body = resolve({"model": "acme/chat", "data_policy": {"training_allowed": False}}).json()
    assert set(body) == {
        "model",
        "catalog_version",
        "effective_policy",
        "ignored",
        "warnings",
        "eligible",
        "excluded",
    }
    assert [e["endpoint"] for e in body["eligible"]] == ["acme/chat@month-ai", "acme/chat@safe-ai"]
    assert set(body["eligible"][0]) == {"endpoint", "provider", "model", "policy"}
    assert body["effective_policy"]["sources"] == {"training_allowed": "request"}
    excluded = body["excluded"][0]
    assert excluded["endpoint"] == "acme/chat@free-ai"
    assert excluded["reasons"] == [
        {"code": "trains_on_data", "constraint": "training_allowed", "source": "request"}
    ]


def test_the_seed_request_example_resolves(resolve):
    body = resolve(
        {
            "model": "anyapi/auto",
            "providers": {
                "require": ["zero-retention", "no-training"],
                "exclude": ["high-risk-provider"],
            },
            "messages": [{"role": "user", "content": "Analyze this confidential financial report"}],
        }
    ).json()
    assert [e["endpoint"] for e in body["eligible"]] == ["acme/chat@safe-ai"]


def test_order_is_a_soft_preference(resolve):
    body = resolve({"model": "acme/chat", "providers": {"order": ["safe-ai", "free-ai"]}}).json()
    assert [e["provider"] for e in body["eligible"]] == ["safe-ai", "free-ai", "month-ai"]


def test_openrouter_provider_block_is_mapped(resolve):
    body = resolve(
        {
            "model": "acme/chat",
            "provider": {
                "data_collection": "deny",
                "zdr": True,
                "ignore": ["month-ai"],
                "allow_fallbacks": False,
                "sort": "price",
            },
        }
    ).json()
    assert [e["endpoint"] for e in body["eligible"]] == ["acme/chat@safe-ai"]
    sources = body["effective_policy"]["sources"]
    assert {"require:no-training", "require:zero-retention", "exclude:month-ai"} <= set(sources)


def test_nothing_eligible_is_422_with_constraints_and_the_smallest_relaxation(resolve):
    response = resolve({"model": "acme/tiny", "data_policy": {"retention_days": 30}})
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "no_eligible_endpoint"
    assert error["constraints"] == ["retention_days"]
    assert error["relaxations"][0]["unlocks"] == ["acme/tiny@month-ai"]
    assert "90-day" in error["relaxations"][0]["description"]


def test_an_unknown_model_is_404(resolve):
    response = resolve({"model": "acme/ghost"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_model"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"model": "acme/chat", "providers": {"require": ["no-training", "cheap"]}},
            "providers.require.1",
        ),
        (
            {"model": "acme/chat", "data_policy": {"retention_days": -1}},
            "data_policy.retention_days",
        ),
        (
            {"model": "acme/chat", "data_policy": {"retention_days": "30"}},
            "data_policy.retention_days",
        ),
        (
            {"model": "acme/chat", "data_policy": {"training_allowed": "no"}},
            "data_policy.training_allowed",
        ),
        ({"model": "acme/chat", "classification": "secret"}, "classification"),
        ({"model": "acme/chat", "providers": {"exclude": "free-ai"}}, "providers.exclude"),
        ({"data_policy": {}}, "model"),
    ],
)
def test_malformed_requests_are_400_with_the_field_path(resolve, body, field):
    response = resolve(body)
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_request"
    assert error["field"] == field and error["message"].startswith(field)


def test_a_body_that_is_not_json_is_400(resolve):
    response = resolve("{not json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


def test_an_ingest_key_cannot_resolve(resolve):
    _, ingest = ApiKey.issue(name="ingest", kind=ApiKey.Kind.INGEST)
    assert resolve({"model": "acme/chat"}, key=ingest).status_code == 403


def test_a_management_key_can_resolve(resolve, personas):
    _, management = ApiKey.issue(name="m", kind=ApiKey.Kind.MANAGEMENT, account=personas.account)
    assert resolve({"model": "acme/chat"}, key=management).status_code == 200


def test_a_warm_resolve_makes_no_database_query(resolve, django_assert_num_queries, settings):
    settings.CATALOG_VERSION_CHECK_SECONDS = 60
    resolve({"model": "acme/chat"})
    with django_assert_num_queries(0):
        assert resolve({"model": "anyapi/auto"}).status_code == 200


def test_an_approved_change_reaches_the_resolver(
    resolve, personas, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_VERSION_CHECK_SECONDS = 0
    before = resolve({"model": "acme/chat", "providers": {"require": ["zero-retention"]}}).json()
    current = PolicyVersion.objects.current().get(provider__slug="month-ai", endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    proposal = propose(
        current.provider,
        None,
        {**content, "retention": "zero", "retention_days": None},
        origin="manual",
    )
    with django_capture_on_commit_callbacks(execute=True):
        approve(proposal, personas.reviewer, "provider now promises zero retention")
    after = resolve({"model": "acme/chat", "providers": {"require": ["zero-retention"]}}).json()
    assert after["catalog_version"] == before["catalog_version"] + 1
    assert "acme/chat@month-ai" in [e["endpoint"] for e in after["eligible"]]


def test_a_proposal_changes_nothing_until_approved(resolve, personas, settings):
    settings.CATALOG_VERSION_CHECK_SECONDS = 0
    current = PolicyVersion.objects.current().get(provider__slug="free-ai", endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    propose(
        current.provider,
        None,
        {**content, "training": "no"},
        origin="manual",
        proposed_by=personas.reviewer,
    )
    body = resolve({"model": "acme/chat", "data_policy": {"training_allowed": False}}).json()
    assert "acme/chat@free-ai" not in [e["endpoint"] for e in body["eligible"]]


def test_the_proposer_cannot_approve_their_own_change(small_catalog, personas):
    from catalog.review.versions import ReviewError

    current = PolicyVersion.objects.current().get(provider__slug="free-ai", endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    proposal = propose(
        current.provider,
        None,
        {**content, "training": "no"},
        origin="manual",
        proposed_by=personas.reviewer,
    )
    with pytest.raises(ReviewError, match="Four-eyes"):
        approve(proposal, personas.reviewer, "looks fine to me")


@pytest.mark.parametrize("status", [200, 400, 422])
def test_message_content_is_never_stored_cached_or_logged(resolve, caplog, status):
    caplog.set_level(logging.DEBUG)
    body = {
        "model": "acme/chat",
        "messages": [{"role": "user", "content": CANARY}],
        "temperature": 0.2,
        "tools": [{"description": CANARY}],
    }
    if status == 400:
        body["providers"] = {"require": [CANARY]}
    if status == 422:
        body["providers"] = {"only": ["nobody"]}
    response = resolve(body)
    assert response.status_code == status
    if status != 400:
        assert CANARY not in response.content.decode()
    assert CANARY not in everything_stored()
    assert CANARY not in everything_cached()
    assert CANARY not in caplog.text


def test_the_catalog_endpoint_list_is_public_and_filterable(client, small_catalog):
    body = client.get("/api/v1/catalog/endpoints?require=zero-retention").json()
    assert [e["endpoint"] for e in body["endpoints"]] == ["acme/chat@safe-ai"]
    body = client.get("/api/v1/catalog/endpoints?model=acme/tiny&provider=month-ai").json()
    assert [e["endpoint"] for e in body["endpoints"]] == ["acme/tiny@month-ai"]
    body = client.get("/api/v1/catalog/endpoints?require=no-training,cert:soc2").json()
    assert [e["endpoint"] for e in body["endpoints"]] == ["acme/chat@safe-ai"]


def test_the_catalog_endpoint_list_refuses_unknown_tags(client, small_catalog):
    response = client.get("/api/v1/catalog/endpoints?require=cheap")
    assert response.status_code == 400 and response.json()["error"]["field"] == "require"


def test_for_me_needs_an_account_key(client, small_catalog, secret):
    assert client.get("/api/v1/catalog/endpoints?for=me").status_code == 401
    response = client.get(
        "/api/v1/catalog/endpoints?for=me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200 and len(response.json()["endpoints"]) == 5


def test_openapi_describes_every_endpoint_and_error_shape(client):
    schema = client.get("/api/openapi.json").json()
    assert {"/api/v1/policy/resolve", "/api/v1/catalog/endpoints", "/api/v1/account"} <= set(
        schema["paths"]
    )
    responses = schema["paths"]["/api/v1/policy/resolve"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "422"} <= set(responses)


def test_providers_are_named_by_their_aliases_and_endpoint_tags(resolve, db):
    from catalog.catalog_file import parse_catalog
    from catalog.loader import Loader
    from catalog.policy import snapshot

    Loader().load(
        parse_catalog(
            {
                "providers": [
                    {"slug": "together", "name": "Together AI", "aliases": ["Together"]},
                    {"slug": "deepinfra", "name": "DeepInfra"},
                ],
                "models": [{"slug": "meta/llama", "name": "Llama"}],
                "endpoints": [
                    {"model": "meta/llama", "provider": "together"},
                    {"model": "meta/llama", "provider": "deepinfra", "tags": ["deepinfra/turbo"]},
                ],
            }
        )
    )
    snapshot.forget()
    body = resolve(
        {"model": "meta/llama", "provider": {"order": ["Together", "deepinfra/turbo"]}}
    ).json()
    assert [e["provider"] for e in body["eligible"]] == ["together", "deepinfra"]
    assert body["warnings"] == []
