"""Every answer under /api/ is JSON (PRODUCT.md §3), an unreachable database is a 503 with
Retry-After, and nothing signed-in may be cached."""

import json

import pytest
from django.db import OperationalError
from django.test import Client

from dashboard.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_client():
    # Django's test client re-raises view exceptions; a real server answers them.
    return Client(raise_request_exception=False)


def _is_house_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code


def test_an_unknown_api_path_is_a_json_404(client):
    _is_house_error(client.get("/api/v1/no/such/thing"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(client):
    response = client.get("/api/v1/usage/events")
    _is_house_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_a_crash_under_api_is_a_json_500(raw_client, monkeypatch, settings):
    settings.DEBUG = False

    def crash(request):
        raise RuntimeError("a bug")

    monkeypatch.setattr("dashboard.api.KeyAuth.__call__", lambda self, request: crash(request))
    _is_house_error(raw_client.get("/api/v1/account"), 500, "server_error")


def test_a_crash_under_api_is_json_in_debug_mode_too(raw_client, monkeypatch, settings):
    settings.DEBUG = True
    monkeypatch.setattr("dashboard.api.KeyAuth.__call__", lambda self, request: 1 / 0)
    _is_house_error(raw_client.get("/api/v1/account"), 500, "server_error")


def _database_refuses(monkeypatch, message="connection refused"):
    def refuse(self):
        raise OperationalError(message)

    monkeypatch.setattr(
        "django.db.backends.base.base.BaseDatabaseWrapper.ensure_connection", refuse
    )


@pytest.mark.parametrize("message", ["connection refused", "FATAL: too many connections"])
def test_ingest_answers_503_json_with_retry_after_when_the_database_has_no_connection(
    raw_client, monkeypatch, message
):
    _, secret = ApiKey.issue(name="gateway", kind=ApiKey.Kind.INGEST)
    _database_refuses(monkeypatch, message)
    response = raw_client.post(
        "/api/v1/usage/events",
        data=json.dumps({"events": []}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}.x"},
    )
    _is_house_error(response, 503, "unavailable")
    assert int(response["Retry-After"]) > 0


def test_a_page_is_503_with_retry_after_when_the_database_is_down(raw_client, monkeypatch):
    _database_refuses(monkeypatch)
    response = raw_client.get("/catalog/")
    assert response.status_code == 503 and int(response["Retry-After"]) > 0


def test_a_body_over_django_upload_limit_is_a_json_413_on_other_endpoints(client, personas):
    _, secret = ApiKey.issue(name="m", account=personas.account, kind=ApiKey.Kind.MANAGEMENT)
    response = client.put(
        "/api/v1/account/privacy",
        data=json.dumps({"require": ["x" * 3_000_000]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    _is_house_error(response, 413, "payload_too_large")


def test_signed_in_pages_and_exports_are_never_cached(client_for, personas):
    client = client_for(personas.owner)
    for path in ("/a/acme/", "/a/acme/audit.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_api_answers_to_a_key_are_never_cached(client, personas):
    _, secret = ApiKey.issue(name="k", account=personas.account)
    response = client.get("/api/v1/account", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]


def test_public_pages_stay_cacheable(client, small_catalog):
    response = client.get("/catalog/")
    assert "no-store" not in response.get("Cache-Control", "")
