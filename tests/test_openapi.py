"""GET /api/openapi.json is a valid OpenAPI document, and says what the server does: for a table
of real requests, each answer's status is documented for its operation and its body matches the
documented schema, and every documented status is one the table saw."""

import json
import re
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from dashboard.models import ApiKey, KeyGuardrail, PrivacyDefaults

pytestmark = pytest.mark.django_db

RESOLVE = "/api/v1/policy/resolve"
ENDPOINTS = "/api/v1/catalog/endpoints"
PRIVACY = "/api/v1/account/privacy"
GUARDRAIL = "/api/v1/keys/{prefix}/guardrail"
EVENTS = "/api/v1/usage/events"
EVENT = {
    "id": "7f1c2a4e-4a55-4c3e-9c1e-2f1f0b7d9a10",
    "account": "acme",
    "timestamp": "2026-11-30T12:00:00+00:00",
    "model": "acme/chat",
    "provider": "safe-ai",
    "tokens_prompt": 3,
    "tokens_completion": 4,
    "latency_ms": 120,
    "status": "ok",
}

# (method, path template, key kind or None, query or body, expected status)
REQUESTS = [
    ("post", RESOLVE, "inference", {"model": "acme/chat"}, 200),
    (
        "post",
        RESOLVE,
        "inference",
        {"models": ["ghost/m", "acme/chat:nitro"], "provider": {"only": ["Ghost", "safe-ai"]}},
        200,
    ),
    ("post", RESOLVE, "management", {"model": "anyapi/auto", "provider": {"sort": "price"}}, 200),
    ("post", RESOLVE, "inference", {"model": "acme/chat", "providers": {"require": ["x"]}}, 400),
    ("post", RESOLVE, "inference", b"{not json", 400),
    ("post", RESOLVE, "inference", {"model": "acme/chat:online"}, 400),
    ("post", RESOLVE, None, {"model": "acme/chat"}, 401),
    ("post", RESOLVE, "revoked", {"model": "acme/chat"}, 401),
    ("post", RESOLVE, "ingest", {"model": "acme/chat"}, 403),
    ("post", RESOLVE, "inference", {"model": "ghost/model"}, 404),
    ("post", RESOLVE, "inference", {"model": "acme/chat", "provider": {"only": ["Ghost"]}}, 422),
    ("get", ENDPOINTS, None, {}, 200),
    (
        "get",
        ENDPOINTS,
        None,
        {"model": "acme/chat", "provider": "Safe AI", "require": "cert:soc2"},
        200,
    ),
    ("get", ENDPOINTS, "inference", {"for": "me"}, 200),
    ("get", ENDPOINTS, None, {"require": "cheap"}, 400),
    ("get", ENDPOINTS, None, {"for": "me"}, 401),
    ("get", ENDPOINTS, "ingest", {"for": "me"}, 403),
    ("get", ENDPOINTS, None, {"model": "ghost/model"}, 404),
    ("get", "/api/v1/catalog/providers", None, {}, 200),
    ("get", "/api/v1/account", "inference", {}, 200),
    ("get", "/api/v1/account", None, {}, 401),
    ("get", "/api/v1/account", "ingest", {}, 403),
    ("get", PRIVACY, "management", {}, 200),
    ("get", PRIVACY, None, {}, 401),
    ("get", PRIVACY, "inference", {}, 403),
    ("put", PRIVACY, "management", {"classification": "internal", "require": ["no-training"]}, 200),
    ("put", PRIVACY, "management", {"retention_days": -1}, 400),
    ("put", PRIVACY, None, {}, 401),
    ("put", PRIVACY, "inference", {}, 403),
    ("get", GUARDRAIL, "management", {}, 200),
    ("get", GUARDRAIL, None, {}, 401),
    ("get", GUARDRAIL, "inference", {}, 403),
    ("get", "/api/v1/keys/nobody/guardrail", "management", {}, 404),
    ("put", GUARDRAIL, "management", {"retention_days": 10}, 200),
    ("put", GUARDRAIL, "management", {"retention_days": "ten"}, 400),
    ("put", GUARDRAIL, None, {}, 401),
    ("put", GUARDRAIL, "inference", {}, 403),
    ("put", "/api/v1/keys/nobody/guardrail", "management", {}, 404),
    ("put", GUARDRAIL, "management", {"classification": "public"}, 422),
    ("post", EVENTS, "ingest", {"events": [EVENT]}, 200),
    ("post", EVENTS, "ingest", {"events": [{**EVENT, "messages": ["hi"]}]}, 400),
    ("post", EVENTS, None, {"events": []}, 401),
    ("post", EVENTS, "inference", {"events": []}, 403),
    ("post", EVENTS, "ingest", {"events": [EVENT] * 10_001}, 400),
    ("post", EVENTS, "ingest", b'{"events": [' + b" " * (17 << 20) + b"]}", 413),
    ("get", "/healthz", None, {}, 200),
    ("get", "/healthz", "cache that forgets", {}, 200),  # degraded, but the API answers
    ("get", "/healthz", "database that refuses", {}, 503),
    (
        "post",
        RESOLVE,
        "inference",
        b'{"model": "acme/chat", "messages": "' + b"A" * (64 << 20) + b'"}',
        413,
    ),
]
BROKEN_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


@pytest.fixture
def schema(client):
    return client.get("/api/openapi.json").json()


@pytest.fixture
def keys(personas, small_catalog):
    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    inference_key, inference = ApiKey.issue(name="gateway", account=personas.account)
    revoked_key, revoked = ApiKey.issue(name="old", account=personas.account)
    ApiKey.objects.filter(pk=revoked_key.pk).update(revoked_at=timezone.now())
    KeyGuardrail.objects.create(key=inference_key)
    return {
        "inference": inference,
        "management": ApiKey.issue(
            name="config", kind=ApiKey.Kind.MANAGEMENT, account=personas.account
        )[1],
        "ingest": ApiKey.issue(name="ingest", kind=ApiKey.Kind.INGEST)[1],
        "revoked": revoked,
        "prefix": inference_key.prefix,
    }


def send(client, keys, method, path, kind, data):
    if kind == "cache that forgets":  # what /healthz answers when a dependency fails
        with override_settings(CACHES=BROKEN_CACHE):
            return client.get(path)
    if kind == "database that refuses":
        with mock.patch("dashboard.health._database", side_effect=OperationalError("refused")):
            return client.get(path)
    headers = {"Authorization": f"Bearer {keys[kind]}"} if kind else {}
    url = path.replace("{prefix}", keys["prefix"])
    if method == "get":
        return client.get(url, data, headers=headers)
    body = data if isinstance(data, bytes) else json.dumps(data)
    return getattr(client, method)(url, body, content_type="application/json", headers=headers)


def documented_path(schema, path: str) -> str:
    """The schema's path template a request path falls under (`/api/v1/keys/{prefix}/…`)."""
    for template in schema["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    return path


def test_the_schema_is_a_valid_openapi_document(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.1")


def test_every_answer_is_documented_and_matches_its_schema(client, keys, schema):
    registry = Registry().with_resource(
        "urn:api", Resource.from_contents(schema, default_specification=DRAFT202012)
    )
    problems = []
    for method, path, kind, data, status in REQUESTS:
        response = send(client, keys, method, path, kind, data)
        if response.status_code != status:
            problems.append(f"{method} {path} {data!r:.60}: {response.status_code}, not {status}")
            continue
        path = documented_path(schema, path)
        documented = schema["paths"][path][method]["responses"]
        if str(status) not in documented:
            problems.append(f"{method} {path}: {status} is not documented")
            continue
        pointer = "/".join(["#/paths", path.replace("/", "~1"), method, "responses", str(status)])
        answer_schema = {"$ref": f"urn:api{pointer}/content/application~1json/schema"}
        validator = Draft202012Validator(answer_schema, registry=registry)
        for error in validator.iter_errors(response.json()):
            problems.append(f"{method} {path} {status}: {error.json_path}: {error.message:.200}")
    assert problems == []


def test_every_documented_status_is_one_a_real_request_gets(schema):
    documented = {
        (method, path, int(status))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    seen = {(method, path, status) for method, path, _, _, status in REQUESTS}
    seen |= {
        (m, GUARDRAIL, s) for m, p, _, _, s in REQUESTS if p == "/api/v1/keys/nobody/guardrail"
    }
    assert documented - seen == set()


def test_resolve_documents_its_body_parameters_and_nullable_fields(schema):
    components = schema["components"]["schemas"]
    provider = components["OpenRouterProvider"]["properties"]
    for name in ("order", "ignore", "only"):
        assert {"type": "null"} in provider[name]["anyOf"]
    assert {"model", "models", "provider", "providers", "data_policy"} <= set(
        components["ChatRequest"]["properties"]
    )
    body = schema["paths"][RESOLVE]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ChatRequest"}
    parameters = schema["paths"][ENDPOINTS]["get"]["parameters"]
    assert {p["name"] for p in parameters} == {"model", "provider", "require", "for"}
    assert "/healthz" in schema["paths"]
