"""Receipts of regulated resolutions: stored for every one and only those, metadata only, shown
and exported to owners alone."""

import csv
import hashlib
import io
import json
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import CatalogState
from catalog.policy import resolver
from dashboard.models import ApiKey, PrivacyDefaults, Receipt
from dashboard.privacy import layers_for_key
from tests.canary import everything_cached, everything_stored

pytestmark = pytest.mark.django_db

CANARY = "CANARY-7c2e-patient-record-for-receipts"


@pytest.fixture
def catalog(small_catalog):
    return small_catalog


@pytest.fixture
def defaults(personas):
    # Acme sets nothing of its own, so the request's classification decides.
    return PrivacyDefaults.objects.create(account=personas.account, classification=None)


@pytest.fixture
def key(personas, defaults):
    return ApiKey.issue(name="gateway", account=personas.account)


@pytest.fixture
def resolve(client, key, catalog):
    def post(body):
        return client.post(
            "/api/v1/policy/resolve",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key[1]}"},
        )

    return post


def _receipt(account, n=0, **fields):
    return Receipt.objects.create(
        account=account,
        key_prefix=fields.pop("key_prefix", "aa0123456789"),
        model=fields.pop("model", f"acme/model-{n}"),
        catalog_version=fields.pop("catalog_version", 4),
        policy_hash=fields.pop("policy_hash", f"{n:064x}"),
        eligible=fields.pop("eligible", ["acme/chat@safe-ai"]),
    )


# --- Recording ---------------------------------------------------------------------------------


def test_a_regulated_resolution_leaves_a_receipt(resolve, personas, key):
    response = resolve({"model": "acme/chat", "classification": "regulated"})
    assert response.status_code == 200
    body = response.json()
    receipt = Receipt.objects.get()
    assert receipt.account == personas.account
    assert receipt.key_prefix == key[0].prefix
    assert receipt.model == "acme/chat"
    assert receipt.catalog_version == CatalogState.current_version() == body["catalog_version"]
    assert receipt.eligible == ["acme/chat@safe-ai"] == [e["endpoint"] for e in body["eligible"]]
    effective = resolver.merge(
        [*layers_for_key(key[0]), ("request", resolver.Constraints(classification="regulated"))]
    )
    canonical = json.dumps(effective.as_dict(), sort_keys=True).encode()
    assert receipt.policy_hash == hashlib.sha256(canonical).hexdigest()


def test_a_regulated_resolution_with_nothing_eligible_leaves_a_receipt_too(resolve):
    response = resolve({"model": "acme/tiny", "classification": "regulated"})
    assert response.status_code == 422
    receipt = Receipt.objects.get()
    assert (receipt.model, receipt.eligible) == ("acme/tiny", [])


def test_an_account_classified_regulated_gets_a_receipt_for_every_resolution(resolve, defaults):
    defaults.classification = "regulated"
    defaults.save()
    resolve({"model": "acme/chat"})
    resolve({"model": "anyapi/auto", "classification": "public"})
    assert Receipt.objects.count() == 2


def test_the_hash_differs_when_the_effective_policy_does(resolve):
    resolve({"model": "acme/chat", "classification": "regulated"})
    resolve({"model": "acme/chat", "classification": "regulated", "providers": {"exclude": ["x"]}})
    first, second = Receipt.objects.order_by("pk")
    assert first.policy_hash != second.policy_hash


def test_a_confidential_resolution_leaves_a_receipt_too(resolve):
    assert resolve({"model": "acme/chat", "classification": "confidential"}).status_code == 200
    assert Receipt.objects.get().model == "acme/chat"


@pytest.mark.parametrize("classification", [None, "public", "internal"])
def test_other_classifications_leave_no_receipt(resolve, classification):
    body = {"model": "acme/chat"}
    if classification:
        body["classification"] = classification
    assert resolve(body).status_code == 200
    assert not Receipt.objects.exists()


def test_a_rejected_request_leaves_no_receipt(resolve):
    assert resolve({"model": "nobody/none", "classification": "regulated"}).status_code == 404
    body = {"model": "acme/chat", "classification": "regulated", "providers": {"require": ["x"]}}
    assert resolve(body).status_code == 400
    assert not Receipt.objects.exists()


def test_the_catalog_endpoint_list_leaves_no_receipt(client, key, catalog, defaults):
    defaults.classification = "regulated"
    defaults.save()
    client.get("/api/v1/catalog/endpoints?for=me", headers={"Authorization": f"Bearer {key[1]}"})
    assert not Receipt.objects.exists()


@pytest.mark.parametrize(("model", "status"), [("acme/chat", 200), ("acme/tiny", 422)])
def test_a_receipt_holds_no_request_content(resolve, caplog, model, status):
    caplog.set_level(logging.DEBUG)
    response = resolve(
        {
            "model": model,
            "classification": "regulated",
            "messages": [{"role": "user", "content": CANARY}],
            "temperature": 0.1,
            "tools": [{"description": CANARY}],
            "user": CANARY,
        }
    )
    assert response.status_code == status
    assert Receipt.objects.count() == 1
    assert CANARY not in everything_stored()
    assert CANARY not in everything_cached()
    assert CANARY not in caplog.text


# --- The page and the export -------------------------------------------------------------------


def test_owners_see_their_accounts_receipts(client_for, personas):
    _receipt(personas.account, model="acme/ours")
    _receipt(personas.other_account, model="globex/theirs")
    page = client_for(personas.owner).get("/a/acme/receipts/").content.decode()
    assert "acme/ours" in page and "globex/theirs" not in page


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admins_and_members_may_not_see_receipts(client_for, personas, role):
    client = client_for(getattr(personas, role))
    assert client.get("/a/acme/receipts/").status_code == 403
    assert client.get("/a/acme/receipts.csv").status_code == 403


def test_another_accounts_receipts_are_404(client_for, personas):
    _receipt(personas.other_account)
    client = client_for(personas.owner)
    assert client.get("/a/globex/receipts/").status_code == 404
    assert client.get("/a/globex/receipts.csv").status_code == 404


def test_the_receipts_page_needs_a_sign_in(client, personas):
    response = client.get("/a/acme/receipts/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_receipts_are_paginated(client_for, personas):
    for n in range(55):
        _receipt(personas.account, n)
    client = client_for(personas.owner)
    first = client.get("/a/acme/receipts/").content.decode()
    second = client.get("/a/acme/receipts/?page=2").content.decode()
    assert "Page 1 of 2" in first and "acme/model-54" in first and "acme/model-4<" not in first
    assert "acme/model-4<" in second


def test_the_receipts_page_makes_a_fixed_number_of_queries(client_for, personas):
    client = client_for(personas.owner)
    client.get("/a/acme/receipts/")
    _receipt(personas.account)
    with CaptureQueriesContext(connection) as one:
        client.get("/a/acme/receipts/")
    for n in range(30):
        _receipt(personas.account, n)
    with CaptureQueriesContext(connection) as many:
        client.get("/a/acme/receipts/")
    assert len(many) == len(one)


def test_receipts_export_as_streamed_csv(client_for, personas):
    _receipt(personas.account, 1, eligible=["acme/chat@safe-ai", "acme/chat@month-ai"])
    _receipt(personas.account, 2, eligible=[])
    _receipt(personas.other_account, 3, model="globex/theirs")
    response = client_for(personas.owner).get("/a/acme/receipts.csv")
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    assert 'filename="receipts-acme.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["model"] for r in rows] == ["acme/model-2", "acme/model-1"]
    assert rows[1]["eligible"] == "acme/chat@safe-ai acme/chat@month-ai"
    assert rows[0]["eligible"] == ""
    assert rows[1]["policy_hash"] == f"{1:064x}" and rows[1]["catalog_version"] == "4"
    assert set(rows[0]) == {
        "time",
        "key_prefix",
        "model",
        "catalog_version",
        "policy_hash",
        "eligible",
    }
