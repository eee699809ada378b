"""Evidence per field (PRODUCT.md §1, §3): stored in one shape, merged with the values it carries,
served by the API and shown on the provider page; providers' names, domains and endpoint tags."""

import copy
import json

import lxml.html
import pytest
from django.core.management import call_command

from catalog.catalog_file import CatalogFileError, parse_catalog
from catalog.loader import Loader
from catalog.models import CatalogState, Endpoint, PolicyVersion, Provider
from catalog.policy import snapshot

pytestmark = pytest.mark.django_db

TRAINING_QUOTE = "We do not train models on API data."
ZERO_QUOTE = "Chat completions on open models are not stored."
CONDITION = "Zero retention only for chat completions on open models; this endpoint is one."

EVIDENCED = {
    "providers": [
        {
            "slug": "own-ai",
            "name": "Own AI",
            "aliases": ["Own", "own-router"],
            "headquarters": "DE",
            "domains": ["own.example"],
            "policy": {
                "training": "no",
                "retention": "days",
                "retention_days": 30,
                "safety_retention": "flagged_only",
                "publishes_prompts": "unknown",
                "source_url": "https://own.example/privacy",
                "verified_at": "2026-10-01",
                "review_due": "2099-01-01",
                "evidence": {
                    "training": {
                        "quote": TRAINING_QUOTE,
                        "source_url": "https://docs.own.example/data",
                        "captured_at": "2026-09-12",
                        "corroboration": [
                            {"url": "https://aggregator.example/own", "note": "Says the same."}
                        ],
                    },
                    "retention": {
                        "passage": "API inputs are deleted after 30 days.",
                        "url": "https://own.example/retention",
                    },
                    "safety_retention": "Flagged content may be kept for review.",
                    "headquarters": {
                        "quote": "Own AI GmbH, Berlin, Germany.",
                        "source_url": "https://own.example/imprint",
                        "captured_at": "2026-01-05",
                    },
                },
                "notes": {"publishes_prompts": "Secondary sources only: a blog says no."},
            },
        },
        {"slug": "other-ai", "name": "Other AI", "aliases": ["Other"], "policy": {}},
    ],
    "models": [
        {"slug": "own/chat", "name": "Own Chat"},
        {"slug": "own/old", "name": "Own Old", "retired": True},
    ],
    "endpoints": [
        {
            "model": "own/chat",
            "provider": "own-ai",
            "tags": ["own-router/turbo"],
            "policy": {
                "retention": "zero",
                "evidence": {
                    "retention": {
                        "quote": ZERO_QUOTE,
                        "source_url": "https://docs.own.example/zdr",
                        "captured_at": "2026-08-01",
                        "condition": CONDITION,
                    }
                },
            },
        },
        {"model": "own/old", "provider": "own-ai"},
        {"model": "own/chat", "provider": "other-ai"},
    ],
}


@pytest.fixture
def evidenced(db):
    Loader().load(parse_catalog(copy.deepcopy(EVIDENCED)))
    snapshot.forget()


def _default(slug="own-ai") -> PolicyVersion:
    return PolicyVersion.objects.current().get(provider__slug=slug, endpoint=None)


def test_every_accepted_spelling_of_evidence_is_stored_in_one_shape(evidenced):
    evidence = _default().evidence

    assert evidence["training"] == {
        "quote": TRAINING_QUOTE,
        "source_url": "https://docs.own.example/data",
        "captured_at": "2026-09-12",
        "basis": "public",
        "reference": "",
        "condition": "",
        "corroboration": [{"url": "https://aggregator.example/own", "note": "Says the same."}],
    }
    # The older {passage, url}: its capture date is the day the policy was verified.
    assert evidence["retention"]["quote"] == "API inputs are deleted after 30 days."
    assert evidence["retention"]["source_url"] == "https://own.example/retention"
    assert evidence["retention"]["captured_at"] == "2026-10-01"
    # A bare quote is quoted from the policy's source_url.
    assert evidence["safety_retention"]["source_url"] == "https://own.example/privacy"
    assert set(evidence["safety_retention"]) == set(evidence["training"])
    assert _default().notes == {"publishes_prompts": "Secondary sources only: a blog says no."}


def test_providers_keep_their_names_and_domains_and_endpoints_their_tags(evidenced):
    provider = Provider.objects.get(slug="own-ai")
    assert provider.aliases == ["Own", "own-router"] and provider.domains == ["own.example"]
    assert Endpoint.objects.get(provider=provider, model__slug="own/chat").tags == [
        "own-router/turbo"
    ]

    published = snapshot.get_published()
    assert published.provider_named("OWN") == "own-ai"
    assert published.provider_named("Own AI") == "own-ai"
    assert published.provider_named("own-router/turbo") == "own-ai"
    assert published.provider_named("nobody") is None
    assert published.tags["own/chat@own-ai"] == ("own-router/turbo",)


def test_reloading_a_file_with_new_aliases_updates_them_and_reaches_the_snapshot(
    evidenced, tmp_path, capsys
):
    snapshot.get_published()
    changed = copy.deepcopy(EVIDENCED)
    changed["providers"][1]["aliases"] = ["Other", "Another"]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(changed))
    before = CatalogState.current_version()

    call_command("loadcatalog", path)

    assert Provider.objects.get(slug="other-ai").aliases == ["Other", "Another"]
    assert CatalogState.current_version() == before + 1
    snapshot.forget()
    assert snapshot.get_published().provider_named("another") == "other-ai"


@pytest.mark.parametrize(
    "mutate, path, message",
    [
        (
            lambda d: d["providers"][1]["aliases"].append("own"),
            "providers.1.aliases",
            "already names provider 'own-ai'",
        ),
        (
            lambda d: d["endpoints"][0].update(tags=["other/turbo"]),
            "endpoints.0.tags.0",
            "does not start with a name of provider 'own-ai'",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"]["training"].update(reference="C-1"),
            "providers.0.policy.evidence.training",
            "basis 'agreement'",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"]["retention"].update(quote="x"),
            "providers.0.policy.evidence.retention",
            "not both",
        ),
        (
            lambda d: d["providers"][0].update(domains=["https://own.example"]),
            "providers.0.domains.0",
            "pattern",
        ),
    ],
)
def test_a_malformed_name_tag_or_evidence_is_refused_with_its_path(mutate, path, message):
    broken = copy.deepcopy(EVIDENCED)
    mutate(broken)
    with pytest.raises(CatalogFileError) as error:
        parse_catalog(broken)
    assert error.value.path == path and message in error.value.message


# --- The API ------------------------------------------------------------------------------------


def _endpoint_items(client, **params):
    response = client.get("/api/v1/catalog/endpoints", params)
    assert response.status_code == 200
    return {item["endpoint"]: item for item in response.json()["endpoints"]}


def test_an_endpoint_item_carries_each_known_field_with_the_evidence_of_its_level(
    client, evidenced
):
    policy = _endpoint_items(client)["own/chat@own-ai"]["policy"]

    assert policy["retention"] == "zero" and policy["retention_days"] is None
    assert policy["evidence"]["retention"] == {
        "quote": ZERO_QUOTE,
        "source_url": "https://docs.own.example/zdr",
        "captured_at": "2026-08-01",
        "basis": "public",
        "reference": None,
        "condition": CONDITION,
        "corroboration": [],
    }
    assert policy["evidence"]["training"]["quote"] == TRAINING_QUOTE
    assert policy["evidence"]["training"]["corroboration"][0]["url"] == (
        "https://aggregator.example/own"
    )
    assert set(policy["evidence"]) == {"training", "retention", "safety_retention", "headquarters"}
    assert policy["verified_at"] == "2026-10-01" and policy["review_due"] == "2099-01-01"
    assert policy["notes"] == {"publishes_prompts": "Secondary sources only: a blog says no."}


def test_an_endpoint_of_a_provider_with_no_policy_has_no_evidence(client, evidenced):
    policy = _endpoint_items(client)["own/chat@other-ai"]["policy"]
    assert policy["evidence"] == {} and policy["training"] == "unknown"
    assert policy["verified_at"] is None and policy["stale"] is True


def test_a_retired_model_is_never_routable(client, evidenced, personas):
    from dashboard.models import ApiKey, PrivacyDefaults

    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    secret = ApiKey.issue(name="gateway", account=personas.account)[1]
    response = client.post(
        "/api/v1/policy/resolve",
        data={"model": "own/old"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 422
    (excluded,) = response.json()["error"]["excluded"]
    assert [r["code"] for r in excluded["reasons"]] == ["endpoint_disabled"]


def test_resolve_serves_the_evidence_in_each_eligible_item(client, evidenced, personas):
    from dashboard.models import ApiKey, PrivacyDefaults

    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    secret = ApiKey.issue(name="gateway", account=personas.account)[1]
    body = {"model": "own/chat", "providers": {"require": ["zero-retention"]}}
    response = client.post(
        "/api/v1/policy/resolve",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    (eligible,) = response.json()["eligible"]
    assert eligible["endpoint"] == "own/chat@own-ai"
    assert eligible["policy"]["evidence"]["retention"]["condition"] == CONDITION


def test_the_provider_list_gives_each_default_policy_with_its_evidence(client, evidenced):
    response = client.get("/api/v1/catalog/providers")

    assert response.status_code == 200
    body = response.json()
    assert body["catalog_version"] == CatalogState.current_version()
    other, own = body["providers"]  # by slug
    assert {k: own[k] for k in ("slug", "name", "aliases", "headquarters", "endpoints")} == {
        "slug": "own-ai",
        "name": "Own AI",
        "aliases": ["Own", "own-router"],
        "headquarters": "DE",
        "endpoints": 2,
    }
    policy = own["policy"]
    assert policy["retention"] == "days" and policy["retention_days"] == 30
    assert policy["evidence"]["retention"]["quote"] == "API inputs are deleted after 30 days."
    assert policy["evidence"]["headquarters"]["source_url"] == "https://own.example/imprint"
    assert policy["verified_at"] == "2026-10-01" and policy["review_due"] == "2099-01-01"
    assert other["slug"] == "other-ai" and other["endpoints"] == 1
    assert other["policy"]["evidence"] == {} and other["headquarters"] is None


def test_the_catalog_api_compiles_once_and_then_makes_no_query(
    client, evidenced, django_assert_num_queries, settings
):
    settings.CATALOG_VERSION_CHECK_SECONDS = 60
    # The shared version (not yet in the cache), then the compile: catalog version, policy
    # versions, endpoints with their models and providers, providers.
    with django_assert_num_queries(5):
        client.get("/api/v1/catalog/providers")
    with django_assert_num_queries(0):
        client.get("/api/v1/catalog/providers")
        client.get("/api/v1/catalog/endpoints")
        client.get("/api/v1/catalog/endpoints?require=no-training")


def test_the_openapi_schema_documents_the_evidence_and_the_provider_list(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/catalog/providers" in schema["paths"]
    components = schema["components"]["schemas"]
    assert set(components["EvidenceOut"]["properties"]) == {
        "quote",
        "source_url",
        "captured_at",
        "basis",
        "reference",
        "condition",
        "corroboration",
    }
    policy = components["PolicyOut"]["properties"]
    assert {"evidence", "verified_at", "review_due", "notes"} <= set(policy)
    assert set(components["ProviderOut"]["properties"]) == {
        "slug",
        "name",
        "aliases",
        "headquarters",
        "policy",
        "endpoints",
    }


# --- The provider page --------------------------------------------------------------------------


def _rows(response) -> dict:
    page = lxml.html.fromstring(response.content.decode())
    return {
        row.findtext("dt"): row.find("dd")
        for row in page.xpath("//section[1]//dl[contains(@class, 'policy')]/div")
    }


def _words(element) -> str:
    return " ".join(element.text_content().split())


def test_the_provider_page_shows_each_quote_with_its_page_date_basis_and_corroboration(
    client, evidenced
):
    rows = _rows(client.get("/catalog/providers/own-ai/"))

    training = rows["Training on API data"]
    (quote,) = training.xpath("blockquote[@class='evidence']")
    assert _words(quote) == f"“{TRAINING_QUOTE}” source"
    assert quote.xpath("a/@href") == ["https://docs.own.example/data"]
    assert _words(training.xpath("p[@class='evidence-meta']")[0]) == (
        "published by the provider · page as of 2026-09-12 · docs.own.example"
    )
    (third_party,) = training.xpath("ul[@class='corroboration']/li")
    assert _words(third_party) == "third-party https://aggregator.example/own — Says the same."
    assert _words(rows["Headquarters"]).startswith("DE “Own AI GmbH, Berlin, Germany.”")


def test_the_provider_page_shows_unknown_fields_with_their_note_and_a_secondary_warning(
    client, evidenced
):
    rows = _rows(client.get("/catalog/providers/own-ai/"))

    publishes = rows["Publishes prompts"]
    assert publishes.xpath("blockquote") == []
    assert publishes.xpath("span[@class='badge warn']/text()") == ["secondary sources only"]
    assert _words(publishes.xpath("p[@class='policy-note']")[0]) == (
        "Secondary sources only: a blog says no."
    )


def test_an_override_shows_its_condition_in_plain_words(client, evidenced):
    page = lxml.html.fromstring(client.get("/catalog/providers/own-ai/").content.decode())
    (override,) = page.xpath("//details[@class='override']")
    (condition,) = override.xpath(".//p[@class='evidence-condition']")
    assert _words(condition) == f"Only on a condition: {CONDITION}"


# --- The evidence rules: the loader and the review form refuse each kind of bad evidence ---------


def _evidence_of(data, where):
    return (
        data["providers"][0]["policy"]["evidence"]
        if where == "provider"
        else (data["endpoints"][0]["policy"]["evidence"])
    )


@pytest.mark.parametrize(
    "mutate, path, message",
    [
        (
            lambda d: d["providers"][0]["policy"]["evidence"].pop("training"),
            "providers.0.policy.evidence.training",
            "has no evidence",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"]["training"].update(
                source_url="https://aggregator.example/own"
            ),
            "providers.0.policy.evidence.training.source_url",
            "not one of the provider's own domains (own.example)",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"]["training"].update(
                source_url="https://own.example.evil.test/data"
            ),
            "providers.0.policy.evidence.training.source_url",
            "not one of the provider's own domains",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"].pop("headquarters"),
            "providers.0.policy.evidence.headquarters",
            "headquarters is 'DE' but has no evidence",
        ),
        (
            lambda d: d["providers"][0]["policy"].pop("source_url"),
            "providers.0.policy.evidence.safety_retention.source_url",
            "needs the page it is quoted from",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"]["training"].update(condition="paid"),
            "providers.0.policy.evidence.training.condition",
            "does not hold for the provider's default",
        ),
        (
            lambda d: d["providers"][0]["policy"]["evidence"]["training"].update(
                basis="agreement", source_url=None
            ),
            "providers.0.policy.evidence.training.reference",
            "needs the contract's reference",
        ),
        (
            lambda d: d["endpoints"][0]["policy"]["evidence"]["retention"].update(
                source_url="https://news.example/own-zdr"
            ),
            "endpoints.0.policy.evidence.retention.source_url",
            "not one of the provider's own domains",
        ),
        (
            lambda d: d["endpoints"][0]["policy"]["evidence"].pop("retention"),
            "endpoints.0.policy.evidence.retention",
            "retention is 'zero' but has no evidence",
        ),
        (
            lambda d: d["endpoints"][0]["policy"]["evidence"]["retention"].update(quote=""),
            "endpoints.0.policy.evidence.retention.quote",
            "at least 1 character",
        ),
    ],
)
def test_the_loader_refuses_each_kind_of_bad_evidence_naming_the_field(
    mutate, path, message, tmp_path
):
    broken = copy.deepcopy(EVIDENCED)
    mutate(broken)
    with pytest.raises(CatalogFileError) as error:
        parse_catalog(broken)
    assert error.value.path == path and message in error.value.message


def test_an_unknown_value_needs_no_evidence_and_a_third_party_page_may_corroborate():
    data = copy.deepcopy(EVIDENCED)
    policy = data["providers"][0]["policy"]
    policy["training"] = "unknown"
    policy["evidence"].pop("training")
    policy["evidence"]["retention"] = {
        "quote": "API inputs are deleted after 30 days.",
        "source_url": "https://own.example/retention",
        "corroboration": [{"url": "https://aggregator.example/own", "note": "Same."}],
    }
    assert parse_catalog(data).providers[0].policy.training == "unknown"


def test_a_promise_by_agreement_needs_no_public_page_and_may_be_conditional():
    data = copy.deepcopy(EVIDENCED)
    data["providers"][0]["policy"]["evidence"]["training"] = {
        "quote": "Provider shall not use Customer Data to train models.",
        "basis": "agreement",
        "reference": "MSA-2026-014 §4.2",
        "condition": "Holds for traffic under AnyAPI's enterprise agreement, which is all of it.",
    }
    evidence = parse_catalog(data).providers[0].policy.evidence_dict()["training"]
    assert evidence["basis"] == "agreement" and evidence["reference"] == "MSA-2026-014 §4.2"
    assert evidence["source_url"] == ""  # not the policy's public page


def _form(**data):
    from catalog.review.forms import PolicyFieldsForm

    values = {"training": "no", "review_due": "2099-01-01", "comment": "checked the page"}
    return PolicyFieldsForm(
        {**values, **data},
        base=None,
        domains=["own.example"],
        evidence_url="https://own.example/privacy",
    )


def test_the_review_form_refuses_a_value_without_evidence_naming_the_field():
    form = _form()
    assert not form.is_valid()
    assert form.errors["evidence_training"] == [
        "evidence.training: training is 'no' but has no evidence; quote the provider"
    ]


def test_the_review_form_refuses_a_quote_from_a_third_party_page():
    form = _form(evidence_training=TRAINING_QUOTE, evidence_url_training="https://blog.example/x")
    assert not form.is_valid()
    (error,) = form.errors["evidence_url_training"]
    assert error.startswith("evidence.training.source_url: 'blog.example' is not one of")


def test_the_review_form_refuses_a_conditional_default_unless_by_agreement():
    form = _form(evidence_training=TRAINING_QUOTE, evidence_condition_training="paid tier only")
    assert not form.is_valid() and "evidence_condition_training" in form.errors

    agreed = _form(
        evidence_training=TRAINING_QUOTE,
        evidence_basis_training="agreement",
        evidence_reference_training="MSA-2026-014",
        evidence_condition_training="our enterprise agreement covers all traffic",
    )
    assert agreed.is_valid(), agreed.errors
    (evidence,) = agreed.policy_values()["evidence"].values()
    assert (evidence["basis"], evidence["reference"], evidence["source_url"]) == (
        "agreement",
        "MSA-2026-014",
        "",
    )


def test_the_review_form_accepts_an_own_page_quote_and_captures_it_today():
    from django.utils import timezone

    form = _form(evidence_training=TRAINING_QUOTE)
    assert form.is_valid(), form.errors
    evidence = form.policy_values()["evidence"]["training"]
    assert evidence["source_url"] == "https://own.example/privacy"
    assert evidence["captured_at"] == timezone.localdate().isoformat()
