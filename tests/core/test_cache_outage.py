"""With Redis unreachable, resolve and ingest still answer from each process's own caches and
the database; API-key misses never become cache entries."""

import json
import secrets
import socket
import uuid

import pytest
from django.core.cache import cache

from config.settings import REDIS_CACHE
from core.hotcache import MISSING, hot, misses
from dashboard.models import ApiKey, PrivacyDefaults
from tests.usage.conftest import event_json
from usage.models import UsageEvent

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {**REDIS_CACHE, "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"}
    }
    hot.clear()


def _resolve(client, secret):
    return client.post(
        "/api/v1/policy/resolve",
        data=json.dumps({"model": "acme/chat", "messages": [{"role": "user", "content": "x"}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_resolve_answers_while_redis_is_unreachable(client, personas, small_catalog, redis_down):
    PrivacyDefaults.objects.create(account=personas.account, classification=None)
    _, secret = ApiKey.issue(name="gateway", account=personas.account)
    for _ in range(3):
        response = _resolve(client, secret)
        assert response.status_code == 200, response.content
        assert response.json()["eligible"]


def test_a_warm_resolve_needs_neither_redis_nor_the_database(
    client, personas, small_catalog, redis_down, django_assert_num_queries
):
    _, secret = ApiKey.issue(name="gateway", account=personas.account)
    assert _resolve(client, secret).status_code == 200
    with django_assert_num_queries(0):
        assert _resolve(client, secret).status_code == 200


def test_ingest_stores_while_redis_is_unreachable(client, personas, small_catalog, redis_down):
    _, secret = ApiKey.issue(name="ingest", kind=ApiKey.Kind.INGEST)
    events = [event_json(id=str(uuid.uuid4())) for _ in range(3)]
    response = client.post(
        "/api/v1/usage/events",
        data=json.dumps({"events": events}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200 and response.json()["accepted"] == 3
    assert UsageEvent.objects.count() == 3


def test_every_cache_operation_answers_as_a_miss_when_redis_is_down(redis_down):
    assert cache.get("k", "default") == "default"
    assert cache.add("k", 1) is False
    cache.set("k", 1)
    assert cache.get_many(["k"]) == {}
    assert cache.delete("k") is False
    with pytest.raises(ValueError):
        cache.incr("k")


def test_unknown_key_prefixes_from_anyone_add_no_shared_cache_entry(personas):
    prefixes = ["aa" + secrets.token_hex(5) for _ in range(2_000)]
    for prefix in prefixes:
        assert ApiKey.authenticate(f"{prefix}.{secrets.token_urlsafe(8)}") is None

    assert all(cache.get(ApiKey.cache_key(prefix)) is None for prefix in prefixes)
    assert len(misses._entries) <= misses.max_entries
    assert not any(key.startswith("apikey:") for key in hot._entries)


def test_a_flood_of_unknown_prefixes_does_not_push_real_keys_out_of_the_process_cache(
    personas, settings
):
    settings.HOT_CACHE_SECONDS = 600
    key, secret = ApiKey.issue(name="gateway", account=personas.account)
    assert ApiKey.authenticate(secret) is not None
    for _ in range(12_000):
        ApiKey.authenticate(f"aa{secrets.token_hex(5)}.x")
    assert hot.get(ApiKey.cache_key(key.prefix)) is not MISSING
