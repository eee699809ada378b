import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.models import ApiKey

NOW = datetime.now(UTC).replace(microsecond=0)


def event_json(**overrides) -> dict:
    """One valid usage event as the gateway sends it, for account `acme` (the personas')."""
    event = {
        "id": str(uuid.uuid4()),
        "account": "acme",
        "timestamp": (NOW - timedelta(minutes=5)).isoformat(),
        "model": "openai/gpt-4o",
        "provider": "openai",
        "tokens_prompt": 120,
        "tokens_completion": 30,
        "latency_ms": 850,
        "status": "ok",
        "cost_usd": "0.000450",
    }
    event.update(overrides)
    return {name: value for name, value in event.items() if value is not None}


@pytest.fixture
def ingest_secret(db):
    _, secret = ApiKey.issue(name="gateway", kind=ApiKey.Kind.INGEST)
    return secret


@pytest.fixture
def post_usage(client, ingest_secret):
    """`post_usage(body)`: POST a JSON body to the ingest endpoint with the ingest key."""

    def post(body, secret=ingest_secret):
        return client.post(
            "/api/v1/usage/events",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    return post
