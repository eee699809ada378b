"""Resolve takes a whole chat request up to 64 MiB, reads only its policy fields, and keeps one
copy of the body in memory."""

import json
import tracemalloc

import pytest

from dashboard.models import ApiKey, PrivacyDefaults
from dashboard.policy_api import MAX_RESOLVE_BODY_BYTES

pytestmark = pytest.mark.django_db
MiB = 1024 * 1024


@pytest.fixture
def post(client, personas, small_catalog):
    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    _, secret = ApiKey.issue(name="gateway", account=personas.account)

    def send(body: bytes):
        return client.generic(
            "POST",
            "/api/v1/policy/resolve",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    return send


def _chat(size: int, **policy) -> bytes:
    """A chat request of about `size` bytes: one big base64-like image part in `messages`."""
    head = json.dumps({"model": "acme/chat", **policy, "messages": [{"content": ""}]})[:-4]
    tail = '"}]}'
    return (head + "A" * (size - len(head) - len(tail)) + tail).encode()


def test_a_60_mib_request_is_resolved(post):
    body = _chat(60 * MiB, data_policy={"training_allowed": False})
    response = post(body)
    assert response.status_code == 200, response.content[:200]
    assert response.json()["effective_policy"]["sources"] == {"training_allowed": "request"}


def test_a_body_over_64_mib_is_a_json_413(post):
    response = post(_chat(MAX_RESOLVE_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_the_policy_fields_may_come_after_the_messages(post):
    messages = json.dumps([{"role": "user", "content": "x" * 3 * MiB}])
    body = f'{{"messages": {messages}, "model": "acme/chat", "classification": "public"}}'
    response = post(body.encode())
    assert response.status_code == 200
    assert response.json()["effective_policy"]["classification"] == "public"


def test_a_malformed_policy_field_names_its_path(post):
    response = post(_chat(3 * MiB, data_policy={"retention_days": "thirty"}))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "data_policy.retention_days"


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b""])
def test_a_body_that_is_not_a_json_object_is_a_400(post, body):
    response = post(body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_resolving_a_large_body_keeps_about_one_copy_of_it_in_memory(post, capsys):
    body = _chat(32 * MiB)
    post(_chat(1024))  # warm: the catalog is compiled, the key cached
    tracemalloc.start()
    try:
        response = post(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    with capsys.disabled():
        print(f"\nresolve of a {len(body) / MiB:.0f} MiB body: peak {peak / MiB:.1f} MiB traced")
    # The test client holds one copy of the body as its input stream and the view reads it
    # once: two copies. Django's request.body plus json.loads of the messages would be four.
    assert peak < 2.5 * len(body)
