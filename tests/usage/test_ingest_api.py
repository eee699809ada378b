"""POST /api/v1/usage/events: the allowlist, clear errors, replays, unknown names."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from dashboard.models import ApiKey
from tests.usage.conftest import NOW, event_json
from usage.events import ALLOWED_FIELDS, MAX_EVENTS
from usage.models import AccountLatency, DailyUsage, HourlyUsage, Route, UsageEvent

ALL_USAGE_TABLES = (UsageEvent, HourlyUsage, DailyUsage, AccountLatency)


def _nothing_stored():
    return all(not table.objects.exists() for table in ALL_USAGE_TABLES)


def _error(response):
    return response.json()["error"]


def test_a_batch_is_stored_as_raw_events_and_rollups(personas, post_usage):
    batch = [event_json(), event_json(status="error", latency_ms=1200, cost_usd=None)]

    response = post_usage({"events": batch})

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert UsageEvent.objects.filter(account=personas.account).count() == 2
    hourly = HourlyUsage.objects.get(account=personas.account)
    assert (hourly.requests, hourly.errors, hourly.tokens_prompt) == (2, 1, 240)
    assert hourly.cost_nanos == 450_000
    assert DailyUsage.objects.get(account=personas.account).requests == 2
    assert AccountLatency.objects.filter(span="h").aggregate(n=Sum("count"))["n"] == 2
    assert AccountLatency.objects.filter(span="d").aggregate(n=Sum("count"))["n"] == 2


def test_a_replayed_batch_counts_once(personas, post_usage):
    batch = {"events": [event_json() for _ in range(3)]}
    post_usage(batch)

    replay = post_usage(batch)

    assert replay.json() == {"accepted": 0, "duplicates": 3}
    assert HourlyUsage.objects.get().requests == 3
    assert UsageEvent.objects.count() == 3


def test_a_partly_replayed_batch_adds_only_the_new_events(personas, post_usage):
    old = event_json()
    post_usage({"events": [old]})

    response = post_usage({"events": [old, event_json()]})

    assert response.json() == {"accepted": 1, "duplicates": 1}
    assert HourlyUsage.objects.get().requests == 2


def test_an_id_repeated_inside_one_batch_counts_once(personas, post_usage):
    event = event_json()

    response = post_usage({"events": [event, event]})

    assert response.json() == {"accepted": 1, "duplicates": 1}
    assert HourlyUsage.objects.get().requests == 1


@pytest.mark.parametrize(
    "field", ["messages", "prompt", "completion", "content", "input", "output", "user", "x"]
)
def test_any_field_outside_the_allowlist_rejects_the_whole_batch(personas, post_usage, field):
    batch = [event_json(), event_json(**{field: "hello"})]

    response = post_usage({"events": batch})

    assert response.status_code == 400
    assert _error(response)["code"] == "forbidden_field"
    assert (_error(response)["index"], _error(response)["field"]) == (1, field)
    assert _nothing_stored()


def test_a_forbidden_field_wins_over_an_earlier_type_error(personas, post_usage):
    batch = [event_json(tokens_prompt="many"), event_json(messages=[])]

    response = post_usage({"events": batch})

    assert _error(response)["code"] == "forbidden_field"


def test_a_top_level_field_besides_events_is_forbidden(personas, post_usage):
    response = post_usage({"events": [event_json()], "messages": [{"role": "user"}]})

    assert response.status_code == 400
    assert _error(response)["code"] == "forbidden_field"
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("tokens_prompt", -1, "between 0"),
        ("tokens_prompt", "120", "integer"),
        ("tokens_completion", True, "integer"),
        ("latency_ms", 1.5, "integer"),
        ("status", "fine", "one of ok, error, timeout, rejected"),
        ("id", "not-a-uuid", "UUID"),
        ("timestamp", "yesterday", "ISO 8601"),
        ("timestamp", "2026-11-30T10:00:00", "UTC offset"),
        ("cost_usd", 0.5, "decimal string"),
        ("cost_usd", "0.1234567891", "decimal string"),
        ("model", "", "model slug"),
        ("provider", {"name": "openai"}, "provider slug"),
        ("api_key", "short", "key prefix"),
    ],
)
def test_a_wrong_value_is_400_naming_the_event_and_field(
    personas, post_usage, field, value, problem
):
    batch = [event_json(), event_json(), event_json(**{field: value})]

    response = post_usage({"events": batch})

    assert response.status_code == 400
    error = _error(response)
    assert (error["code"], error["index"], error["field"]) == ("invalid_request", 2, field)
    assert problem in error["message"]
    assert error["message"].startswith(f"events[2].{field}:")
    assert _nothing_stored()


def test_a_missing_required_field_is_named(personas, post_usage):
    event = event_json()
    del event["latency_ms"]

    error = _error(post_usage({"events": [event]}))

    assert (error["field"], error["message"]) == ("latency_ms", "events[0].latency_ms: is required")


def test_timestamps_from_the_future_or_before_retention_are_refused(personas, post_usage, settings):
    settings.USAGE_RAW_RETENTION_DAYS = 30
    future = event_json(timestamp=(NOW + timedelta(hours=1)).isoformat())
    ancient = event_json(timestamp=(NOW - timedelta(days=31)).isoformat())

    assert "future" in _error(post_usage({"events": [future]}))["message"]
    assert "retention" in _error(post_usage({"events": [ancient]}))["message"]
    assert _nothing_stored()


def test_more_than_ten_thousand_events_are_refused(personas, post_usage):
    events = [event_json()] * (MAX_EVENTS + 1)

    response = post_usage({"events": events})

    assert response.status_code == 400
    assert _error(response)["field"] == "events"
    assert "10,000" in _error(response)["message"]


def test_ten_thousand_events_are_accepted(personas, post_usage):
    response = post_usage({"events": [event_json() for _ in range(MAX_EVENTS)]})

    assert response.json() == {"accepted": MAX_EVENTS, "duplicates": 0}
    assert HourlyUsage.objects.aggregate(n=Sum("requests"))["n"] == MAX_EVENTS


def test_an_unknown_account_rejects_the_batch_naming_it(personas, post_usage):
    batch = [event_json(), event_json(account="initech")]

    response = post_usage({"events": batch})

    assert response.status_code == 400
    assert _error(response)["code"] == "unknown_account"
    assert _error(response)["account"] == "initech"
    assert "initech" in _error(response)["message"]
    assert _nothing_stored()


def test_a_key_of_another_account_is_refused(personas, post_usage):
    other_key, _ = ApiKey.issue(name="globex", account=personas.other_account)

    response = post_usage({"events": [event_json(api_key=other_key.prefix)]})

    assert _error(response)["code"] == "unknown_api_key"
    assert _nothing_stored()


def test_usage_is_attributed_to_the_reporting_key(personas, post_usage):
    key, _ = ApiKey.issue(name="prod", account=personas.account)

    post_usage({"events": [event_json(api_key=key.prefix), event_json()]})

    assert HourlyUsage.objects.get(api_key=key).requests == 1
    assert HourlyUsage.objects.get(api_key=None).requests == 1


def test_unknown_models_are_kept_and_flagged(personas, post_usage, small_catalog):
    known = event_json(model="acme/chat", provider="safe-ai")
    unknown = event_json(model="mystery/model-9", provider="nowhere")

    response = post_usage({"events": [known, unknown]})

    assert response.json()["accepted"] == 2
    assert list(Route.objects.flagged().values_list("model", flat=True)) == ["mystery/model-9"]


def test_a_body_that_is_not_json_is_400(personas, client, ingest_secret):
    response = client.post(
        "/api/v1/usage/events",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {ingest_secret}"},
    )

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_request"


def test_only_an_ingest_key_may_report_usage(personas, post_usage):
    _, inference_secret = ApiKey.issue(name="app", account=personas.account)

    assert post_usage({"events": []}, secret=inference_secret).status_code == 403
    assert post_usage({"events": []}, secret="aa0000000000.nope").status_code == 401


def test_the_query_count_does_not_grow_with_the_batch(
    personas, post_usage, django_assert_max_num_queries, django_assert_num_queries
):
    post_usage({"events": [event_json()]})  # routes and partitions now exist
    with django_assert_max_num_queries(15) as one_event:
        post_usage({"events": [event_json()]})
    with django_assert_num_queries(len(one_event.captured_queries)):
        post_usage({"events": [event_json(latency_ms=n) for n in range(2000)]})


def test_the_schema_documents_exactly_the_allowed_fields(client):
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/v1/usage/events"]["post"]["requestBody"]
    batch_ref = body["content"]["application/json"]["schema"]["$ref"]
    batch = _resolve(schema, batch_ref)
    event_schema = _resolve(schema, batch["properties"]["events"]["items"]["$ref"])

    assert set(event_schema["properties"]) == ALLOWED_FIELDS
    assert event_schema["additionalProperties"] is False


def test_event_ids_are_uuids_in_any_case(personas, post_usage):
    event_id = uuid.uuid4()

    post_usage({"events": [event_json(id=str(event_id).upper())]})

    assert UsageEvent.objects.get().event_id == event_id


def _resolve(schema: dict, ref: str) -> dict:
    """A $ref of the schema, which must resolve inside it (a dangling one was a bug)."""
    node = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_reference_in_the_openapi_schema_resolves(client):
    schema = client.get("/api/openapi.json").json()

    def refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(schema))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        _resolve(schema, ref)


@pytest.mark.parametrize(
    "timestamp", ["2026-13-01T00:00:00Z", "2026-12-01T25:00:00Z", "2026-12-01T10:00:00+99:99"]
)
def test_an_impossible_timestamp_is_a_400_naming_the_field(post_usage, personas, timestamp):
    response = post_usage({"events": [event_json(), event_json(timestamp=timestamp)]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["index"], error["field"]) == ("invalid_request", 1, "timestamp")
    assert not UsageEvent.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite sums are 64-bit integers")
def test_cost_sums_beyond_a_bigint_are_stored_exactly(post_usage, personas):
    # 1,000 of the largest costs in one hour of one route: 10¹⁹ nano-dollars, past 2⁶³.
    events = [event_json(cost_usd="9999999.999999999") for _ in range(1_000)]
    assert post_usage({"events": events}).status_code == 200
    expected = 1_000 * 9_999_999_999_999_999
    assert HourlyUsage.objects.get().cost_nanos == expected
    assert DailyUsage.objects.get().cost_nanos == expected


def test_usage_events_move_their_keys_last_use_to_the_latest_event(personas, post_usage):
    key, _ = ApiKey.issue(name="Gateway", account=personas.account)
    other, _ = ApiKey.issue(name="Batch", account=personas.account)
    early, late = NOW - timedelta(hours=3), NOW - timedelta(minutes=10)
    batch = [
        event_json(api_key=key.prefix, timestamp=early.isoformat()),
        event_json(api_key=key.prefix, timestamp=late.isoformat()),
        event_json(api_key=other.prefix, timestamp=early.isoformat()),
        event_json(),
    ]

    post_usage({"events": batch})
    post_usage({"events": [event_json(api_key=key.prefix, timestamp=early.isoformat())]})

    key.refresh_from_db()
    other.refresh_from_db()
    assert (key.last_used_at, other.last_used_at) == (late, early)


def test_query_count_stays_fixed_with_many_keys_in_a_batch(
    personas, post_usage, django_assert_max_num_queries, django_assert_num_queries
):
    keys = [ApiKey.issue(name=f"k{n}", account=personas.account)[0] for n in range(20)]
    post_usage({"events": [event_json(api_key=keys[0].prefix)]})
    with django_assert_max_num_queries(16) as one_key:
        post_usage({"events": [event_json(api_key=keys[0].prefix)]})
    with django_assert_num_queries(len(one_key.captured_queries)):
        post_usage({"events": [event_json(api_key=k.prefix) for k in keys]})
