"""One vocabulary of region codes, ISO 3166 country codes and certification ids, enforced in the
resolver's tags (API and forms), the configuration API, the catalog file and review (issue 14);
and validation errors in the product's words."""

import copy
import json

import pytest
from django.core.management import CommandError, call_command

from catalog.models import PolicyChange
from catalog.policy import resolver, vocabulary
from core.plain_errors import plain_message
from dashboard.models import ApiKey
from tests.catalog.conftest import SMALL_CATALOG
from tests.catalog.test_review_pages import _fields_post, _page


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [("region:EU", "region:eu"), ("hq:de", "hq:DE"), ("cert:SOC2", "cert:soc2")],
)
def test_known_values_are_accepted_in_their_canonical_spelling(tag, canonical):
    assert resolver.parse_tag(tag) == canonical


@pytest.mark.parametrize(
    ("tag", "says"),
    [
        ("region:mars", "'mars' is not a region code"),
        ("hq:XX", "'XX' is not an ISO 3166 country code"),
        ("hq:USA", "'USA' is not an ISO 3166 country code"),
        ("cert:made-up-cert", "'made-up-cert' is not a certification id"),
    ],
)
def test_values_outside_the_vocabulary_are_refused_saying_why(tag, says):
    with pytest.raises(resolver.InvalidTag) as refused:
        resolver.parse_tag(tag)
    assert says in refused.value.reason


def test_the_country_list_is_iso_3166_alpha_2():
    assert len(vocabulary.COUNTRIES) == 249
    assert {"US", "DE", "GB", "CN", "IL", "CA", "FR", "NL"} <= vocabulary.COUNTRIES
    assert "UK" not in vocabulary.COUNTRIES  # the code is GB; "uk" is a region


@pytest.fixture
def api(client, personas):
    _, secret = ApiKey.issue(name="m", account=personas.account, kind=ApiKey.Kind.MANAGEMENT)

    def call(method, path, body=None):
        return getattr(client, method)(
            path,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    return call


def test_resolve_refuses_an_unknown_region_naming_the_field(api, small_catalog):
    response = api(
        "post",
        "/api/v1/policy/resolve",
        {"model": "acme/chat", "providers": {"require": ["region:mars"]}},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "'mars' is not a region code; use one of us" in error["message"]


def test_the_catalog_api_filter_refuses_an_unknown_certification(client, small_catalog):
    response = client.get("/api/v1/catalog/endpoints", {"require": "cert:made-up-cert"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"retention_days": -1}, "retention_days", "Enter a whole number of days, 0 or more"),
        ({"retention_days": "30"}, "retention_days", "Enter a whole number of days"),
        (
            {"regulated_certifications": ["made-up"]},
            "regulated_certifications",
            "'made-up' is not a certification id",
        ),
        ({"classification": "secret"}, "classification", "Choose a data class: public, internal"),
        ({"require": ["hq:XX"]}, "require", "'XX' is not an ISO 3166 country code"),
    ],
)
def test_the_configuration_api_explains_a_wrong_value_in_the_products_words(api, body, field, says):
    response = api("put", "/api/v1/account/privacy", body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["field"].startswith(field)
    assert says in error["message"]
    assert "Input should" not in error["message"] and "String should" not in error["message"]


def test_plain_messages_never_pass_library_wording_through_for_common_errors():
    cases = [
        {
            "type": "greater_than_equal",
            "loc": ("retention_days",),
            "msg": "Input should be greater than or equal to 0",
        },
        {
            "type": "string_pattern_mismatch",
            "loc": ("exclude", 0),
            "msg": "String should match pattern '^[a-z0-9]'",
        },
        {"type": "int_parsing", "loc": ("x",), "msg": "Input should be a valid integer"},
    ]
    for error in cases:
        assert "should" not in plain_message(error)


def test_the_catalog_file_refuses_an_unknown_region_with_its_path(db, tmp_path):
    data = copy.deepcopy(SMALL_CATALOG)
    data["providers"][0]["policy"]["regions"] = ["eu", "mars"]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        CommandError, match=r"providers\.0\.policy\.regions\.1: .*'mars' is not a region code"
    ):
        call_command("loadcatalog", path)


def test_the_catalog_file_refuses_an_unknown_country(db, tmp_path):
    data = copy.deepcopy(SMALL_CATALOG)
    data["providers"][0]["headquarters"] = "XX"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="not an ISO 3166 country code"):
        call_command("loadcatalog", path)


def test_review_refuses_regions_outside_the_vocabulary_so_none_reach_public_pages(
    client_for, personas, small_catalog
):
    response = client_for(personas.reviewer).post(
        "/review/providers/month-ai/propose/",
        _fields_post(regions="US, <b>eu</b>, mars", comment="new regions"),
    )

    assert response.status_code == 200
    errors = " ".join(
        _page(response).xpath(
            "//*[contains(@class,'field-error') or contains(@class,'errorlist')]//text()"
        )
    )
    assert "'<b>eu</b>' is not a region code" in errors and "'mars' is not a region code" in errors
    assert not PolicyChange.objects.exists()


def test_review_accepts_known_regions_in_any_case(client_for, personas, small_catalog):
    response = client_for(personas.reviewer).post(
        "/review/providers/month-ai/propose/", _fields_post(regions="US, eu", comment="EU too")
    )
    assert response.status_code == 302
    assert PolicyChange.objects.get().version.regions == ["us", "eu"]
