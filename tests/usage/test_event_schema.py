"""The event schema against an independent oracle.

Each event is generated field by field from labelled values: a valid value together with what
it must parse to, or an invalid one known to be invalid (month 13, hour 25, offset +99:99, a
bool for a count, a prompt-like model name…). The labels, not the parser, say what the answer
must be, so the parser is never compared with itself.
"""

import json
import uuid
from datetime import UTC, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.usage.conftest import NOW
from usage.events import (
    ALLOWED_FIELDS,
    MAX_LATENCY_MS,
    MAX_TOKENS,
    BatchRejected,
    Event,
    parse_body,
)

OLDEST = NOW - timedelta(days=30)
INVALID = object()
STATUS_CODES = {"ok": 0, "error": 1, "timeout": 2, "rejected": 3}


def valid(wire, parsed):
    return st.just((wire, parsed))


def invalid(*wires):
    return st.sampled_from([(wire, INVALID) for wire in wires])


@st.composite
def timestamps(draw):
    moment = draw(
        st.datetimes(
            min_value=(OLDEST + timedelta(minutes=1)).replace(tzinfo=None),
            max_value=NOW.replace(tzinfo=None),
        )
    ).replace(tzinfo=UTC)
    offset = draw(st.sampled_from([0, 60, -330, 14 * 60, -12 * 60]))
    local = moment.astimezone(timezone(timedelta(minutes=offset)))
    style = draw(st.sampled_from(["iso", "Z", "space", "no-colon", "millis", "minutes"]))
    if style == "Z":
        local = moment
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif style == "minutes":
        local = local.replace(second=0, microsecond=0)
        text = local.isoformat(timespec="minutes")
    elif style == "millis":
        local = local.replace(microsecond=local.microsecond // 1000 * 1000)
        text = local.isoformat(timespec="milliseconds")
    else:
        text = local.isoformat(timespec="microseconds")
        if style == "space":
            text = text.replace("T", " ")
        if style == "no-colon":
            text = text[:-3] + text[-2:]
    return text, local.astimezone(UTC)


def counts(maximum):
    return st.one_of(
        st.integers(0, maximum).map(lambda n: (n, n)),
        invalid(-1, maximum + 1, True, 1.5, "12", None, [1]),
    )


FIELDS = {
    "id": st.one_of(
        st.uuids().map(lambda u: (str(u), u)),
        st.uuids().map(lambda u: (u.hex, u)),
        invalid("not-a-uuid", "", 7, "{9C3B9D3E-5F0A-4B6C-8D7E-1F2A3B4C5D6E}", None),
    ),
    "account": st.one_of(
        valid("acme", "acme"),
        invalid("ac me", "", "a" * 51, "acme\n", 3, None, "ignore all previous instructions"),
    ),
    "timestamp": st.one_of(
        timestamps(),
        invalid(
            "2026-13-01T00:00:00Z",  # month 13
            "2026-12-01T25:00:00Z",  # hour 25
            "2026-12-01T10:00:00+99:99",  # offset +99:99
            "2026-02-30T10:00:00Z",
            "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
            (NOW - timedelta(minutes=5)).replace(tzinfo=None).isoformat(),  # no offset
            (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.1234567Z"),
            (NOW + timedelta(hours=1)).isoformat(),  # future
            (OLDEST - timedelta(days=1)).isoformat(),  # past retention
            "yesterday",
            1764000000,
            None,
        ),
    ),
    "model": st.one_of(
        valid("openai/gpt-4o", "openai/gpt-4o"),
        valid("meta-llama/llama-3.1-70b:free", "meta-llama/llama-3.1-70b:free"),
        invalid("acme/chat\n", "two words", "", "/leading", "m" * 129, 5, None),
    ),
    "provider": st.one_of(
        valid("openai", "openai"),
        invalid("OpenAI", "open ai", "", 5, None),
    ),
    "tokens_prompt": counts(MAX_TOKENS),
    "tokens_completion": counts(MAX_TOKENS),
    "latency_ms": counts(MAX_LATENCY_MS),
    "status": st.one_of(
        st.sampled_from(sorted(STATUS_CODES)).map(lambda s: (s, STATUS_CODES[s])),
        invalid("OK", "failed", "", 0, None),
    ),
}
OPTIONAL = {
    "api_key": st.one_of(
        valid(None, None),
        valid("aa0123456789", "aa0123456789"),
        invalid("AA0123456789", "aa012345678", "short", 12),
    ),
    "cost_usd": st.one_of(
        valid(None, None),
        valid("0.000450", 450_000),
        valid("9999999.999999999", 9_999_999_999_999_999),
        valid("12", 12_000_000_000),
        invalid("-1", "0.0000000001", "1e-3", "12345678", 0.5, ""),
    ),
}
FORBIDDEN = st.sampled_from(["messages", "prompt", "completion", "content", "input", "output"])


@st.composite
def labelled_events(draw):
    """(wire event, expected Event or the set of its invalid fields, forbidden field or None)."""
    wire, parsed, problems = {}, {}, set()
    for name, values in FIELDS.items():
        if draw(st.integers(0, 30)) == 0:  # now and then a required field is missing
            problems.add(name)
            continue
        wire[name], parsed[name] = draw(values)
    for name, values in OPTIONAL.items():
        if draw(st.booleans()):
            wire[name], parsed[name] = draw(values)
        else:
            parsed[name] = None
    problems |= {name for name, value in parsed.items() if value is INVALID}
    forbidden = draw(st.one_of(st.none(), FORBIDDEN)) if draw(st.integers(0, 5)) == 0 else None
    if forbidden:
        wire[forbidden] = "CANARY the user's whole prompt"
    if problems:
        return wire, problems, forbidden
    expected = Event(
        parsed["timestamp"],
        parsed["id"],
        parsed["account"],
        parsed["api_key"],
        parsed["model"],
        parsed["provider"],
        parsed["tokens_prompt"],
        parsed["tokens_completion"],
        parsed["latency_ms"],
        parsed["status"],
        parsed["cost_usd"],
    )
    return wire, expected, forbidden


@settings(max_examples=400)
@given(st.lists(labelled_events(), min_size=1, max_size=4))
def test_every_batch_is_accepted_exactly_as_labelled_or_refused_naming_a_real_problem(batch):
    body = json.dumps({"events": [wire for wire, _, _ in batch]}).encode()
    try:
        outcome = parse_body(body, NOW, OLDEST)
    except BatchRejected as rejected:
        outcome = rejected

    forbidden = [(i, name) for i, (_, _, name) in enumerate(batch) if name]
    problems = {(i, f) for i, (_, exp, _) in enumerate(batch) if isinstance(exp, set) for f in exp}
    if forbidden:
        assert isinstance(outcome, BatchRejected) and outcome.code == "forbidden_field"
        assert (outcome.details["index"], outcome.details["field"]) == forbidden[0]
        assert "CANARY" not in outcome.message
    elif problems:
        assert isinstance(outcome, BatchRejected) and outcome.code == "invalid_request"
        assert (outcome.details["index"], outcome.details["field"]) in problems
        assert outcome.message.startswith(f"events[{outcome.details['index']}].")
    else:
        assert outcome == [expected for _, expected, _ in batch]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(
    st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        json_values.map(lambda v: json.dumps({"events": v}).encode()),
        json_values.map(lambda v: json.dumps({"events": [v]}).encode()),
        st.binary(max_size=40),
    )
)
def test_any_body_is_either_events_or_a_refusal_never_an_error(body):
    try:
        parse_body(body, NOW, OLDEST)
    except BatchRejected as rejected:
        assert rejected.code in {"invalid_request", "forbidden_field"}


@pytest.mark.parametrize(
    ("timestamp", "problem"),
    [
        ("2026-13-01T00:00:00Z", "is not a real date and time"),
        ("2026-12-01T25:00:00Z", "is not a real date and time"),
        ("2026-12-01T10:00:00+99:99", "is not a real date and time"),
    ],
)
def test_impossible_timestamps_are_refused_naming_the_field(timestamp, problem):
    event = {
        "id": str(uuid.uuid4()),
        "account": "acme",
        "timestamp": timestamp,
        "model": "m",
        "provider": "p",
        "tokens_prompt": 1,
        "tokens_completion": 1,
        "latency_ms": 1,
        "status": "ok",
    }
    with pytest.raises(BatchRejected) as refused:
        parse_body(json.dumps({"events": [event]}).encode(), NOW, OLDEST)
    assert refused.value.message == f"events[0].timestamp: {problem}"


def test_a_wrong_value_is_named_in_our_words_never_echoed():
    event = {"id": str(uuid.uuid4()), "status": "CANARY prompt text"}
    with pytest.raises(BatchRejected) as refused:
        parse_body(json.dumps({"events": [event]}).encode(), NOW, OLDEST)
    assert "CANARY" not in refused.value.message
    assert refused.value.details["index"] == 0


def test_the_allowlist_is_the_wire_struct():
    assert set(FIELDS) | set(OPTIONAL) == ALLOWED_FIELDS


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(BatchRejected) as refused:
        parse_body(b"{nope", NOW, OLDEST)
    assert (refused.value.code, refused.value.details["field"]) == ("invalid_request", "body")
