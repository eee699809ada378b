"""The fast (msgspec) and the precise (Python) readings of a batch agree on every body."""

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.usage.conftest import NOW, event_json
from usage.events import ALLOWED_FIELDS, BatchRejected, parse_batch, parse_body

OLDEST = NOW - timedelta(days=30)

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**9),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["ok", "error", "Z", "2026-11-30T01:00:00", "0.5", "aa0123456789"]),
    st.sampled_from(
        [
            NOW.isoformat().replace("T", " "),
            NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            NOW.strftime("%Y-%m-%dT%H:%M:%S.123456789Z"),
            NOW.replace(tzinfo=None).isoformat(),
            "9c3b9d3e5f0a4b6c8d7e1f2a3b4c5d6e",
            "{9C3B9D3E-5F0A-4B6C-8D7E-1F2A3B4C5D6E}",
            "acme/chat\n",
            "12.000000001",
        ]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
field_names = st.sampled_from(sorted(ALLOWED_FIELDS) + ["messages", "prompt", "extra"])


def _outcome(read):
    try:
        return ("accepted", read())
    except BatchRejected as rejected:
        return ("rejected", rejected.code, rejected.details.get("field"))


@settings(max_examples=300)
@given(st.lists(st.tuples(field_names, odd_values), max_size=3), st.integers(1, 3))
def test_both_readings_accept_and_refuse_alike(changes, count):
    events = [event_json() for _ in range(count)]
    for name, value in changes:
        events[-1][name] = value
    body = json.dumps({"events": events}).encode()

    fast = _outcome(lambda: parse_body(body, NOW, OLDEST))
    precise = _outcome(lambda: parse_batch(json.loads(body), NOW, OLDEST))

    assert fast == precise


def test_a_body_that_is_not_json_is_refused_by_both():
    fast = _outcome(lambda: parse_body(b"{nope", NOW, OLDEST))

    assert fast == ("rejected", "invalid_request", "body")
