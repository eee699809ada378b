"""The usage event schema: a strict allowlist of metadata fields, checked without the database.

Error messages name the event index and the field but never repeat a value: a rejected value
may be exactly the prompt text the schema exists to keep out.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, NamedTuple

import msgspec

from usage import histogram
from usage.models import Status

MAX_EVENTS = 10_000
MAX_TOKENS = 100_000_000
MAX_LATENCY_MS = 24 * 60 * 60 * 1000
FUTURE_TOLERANCE = timedelta(minutes=5)


class UsageEventIn(msgspec.Struct, forbid_unknown_fields=True):
    """A usage event on the wire: THE event schema. msgspec checks shape, types and ranges in C
    while decoding; the string patterns are checked after, once per distinct name in the batch
    (four regular expressions per event inside the decoder would make it four times slower).
    The OpenAPI schema of the ingest body is generated from this struct."""

    id: uuid.UUID
    account: Annotated[str, msgspec.Meta(description="account slug")]
    timestamp: Annotated[str, msgspec.Meta(description="ISO 8601 with a UTC offset (or Z)")]
    model: Annotated[str, msgspec.Meta(description="model slug, e.g. openai/gpt-4o")]
    provider: Annotated[str, msgspec.Meta(description="provider slug")]
    tokens_prompt: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
    tokens_completion: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
    latency_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_LATENCY_MS)]
    status: Literal["ok", "error", "timeout", "rejected"]
    api_key: Annotated[str, msgspec.Meta(description="12-character key prefix")] | None = None
    cost_usd: Annotated[str, msgspec.Meta(description='decimal string, e.g. "0.000125"')] | None = (
        None
    )


class UsageBatchIn(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[UsageEventIn], msgspec.Meta(max_length=MAX_EVENTS)]


_decode_batch = msgspec.json.Decoder(UsageBatchIn).decode

ALLOWED_FIELDS = frozenset(UsageEventIn.__struct_fields__)

# Identifiers, not prose: no spaces, bounded length. Free text cannot pass as a model name.
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}")
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_ACCOUNT = re.compile(r"[-a-zA-Z0-9_]{1,50}")
_KEY_PREFIX = re.compile(r"[a-z0-9]{12}")
# ISO 8601 with an offset and at most microseconds, which is what the database stores.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})"
)
_COST = re.compile(r"\d{1,7}(\.\d{1,9})?")

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_STATUSES = {status.label: status.value for status in Status}

# What each field must be, in our words: msgspec's own messages may quote the value, and a
# refused value may be exactly the prompt text this schema keeps out.
_COUNT = "must be an integer between 0 and {:,}"
PROBLEMS = {
    "id": "must be a UUID",
    "account": "must be an account slug",
    "api_key": "must be a 12-character key prefix",
    "timestamp": "must be an ISO 8601 date and time with a UTC offset, to the microsecond at most",
    "model": "must be a model slug",
    "provider": "must be a provider slug",
    "tokens_prompt": _COUNT.format(MAX_TOKENS),
    "tokens_completion": _COUNT.format(MAX_TOKENS),
    "latency_ms": _COUNT.format(MAX_LATENCY_MS),
    "status": f"must be one of {', '.join(_STATUSES)}",
    "cost_usd": "must be a decimal string ≥ 0 with at most 9 decimal places",
}
_NAMES = (("account", _ACCOUNT), ("model", _MODEL), ("provider", _PROVIDER))


def openapi_schema() -> tuple[dict, dict]:
    """The ingest body's JSON schema and the component schemas it refers to."""
    (schema,), components = msgspec.json.schema_components(
        [UsageBatchIn], ref_template="#/components/schemas/{name}"
    )
    return schema, components


class BatchRejected(Exception):
    """The whole batch is refused; nothing of it is stored."""

    def __init__(self, code: str, message: str, **details):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def _invalid(index: int, field: str, problem: str) -> BatchRejected:
    return BatchRejected(
        "invalid_request", f"events[{index}].{field}: {problem}", index=index, field=field
    )


class Event(NamedTuple):
    # A named tuple, not a dataclass: ingest builds up to 10,000 per request, and a tuple is
    # several times cheaper to construct than a frozen dataclass.
    timestamp: datetime
    event_id: uuid.UUID
    account: str
    api_key: str | None
    model: str
    provider: str
    tokens_prompt: int
    tokens_completion: int
    latency_ms: int
    status: int
    cost_nanos: int | None

    @property
    def hour(self) -> datetime:
        return self.timestamp.replace(minute=0, second=0, microsecond=0)

    @property
    def bucket(self) -> int:
        return histogram.bucket_of(self.latency_ms)


def parse_body(body: bytes, now: datetime, oldest: datetime) -> list[Event]:
    """The events of a JSON request body, or BatchRejected; nothing else is ever raised.

    One pass: msgspec decodes and checks the batch, then the names, timestamps and costs are
    checked. When msgspec refuses the batch, every event is first searched for fields outside
    the schema, so a batch carrying content is refused as `forbidden_field` whatever else is
    wrong with it; otherwise msgspec's error is named as `events[i].field`.
    """
    try:
        wire = _decode_batch(body)
    except msgspec.ValidationError as error:
        raise _explained(body, error) from None
    except msgspec.DecodeError:
        raise BatchRejected("invalid_request", "The body must be JSON.", field="body") from None
    return _events(wire.events, now + FUTURE_TOLERANCE, oldest)


def _events(wire: list[UsageEventIn], latest: datetime, oldest: datetime) -> list[Event]:
    names_seen: set[tuple] = set()  # a batch repeats a few accounts, models and keys
    events = []
    for index, raw in enumerate(wire):
        names = (raw.account, raw.model, raw.provider, raw.api_key)
        if names not in names_seen:
            _require_names(index, raw)
            names_seen.add(names)
        cost = raw.cost_usd
        if cost is not None and not _COST.fullmatch(cost):
            raise _invalid(index, "cost_usd", PROBLEMS["cost_usd"])
        events.append(
            Event(
                _moment(index, raw.timestamp, latest, oldest),
                raw.id,
                raw.account,
                raw.api_key,
                raw.model,
                raw.provider,
                raw.tokens_prompt,
                raw.tokens_completion,
                raw.latency_ms,
                _STATUSES[raw.status],
                None if cost is None else _nanos(cost),
            )
        )
    return events


def _require_names(index: int, raw: UsageEventIn) -> None:
    for field, pattern in _NAMES:
        if not pattern.fullmatch(getattr(raw, field)):
            raise _invalid(index, field, PROBLEMS[field])
    if raw.api_key is not None and not _KEY_PREFIX.fullmatch(raw.api_key):
        raise _invalid(index, "api_key", PROBLEMS["api_key"])


def _moment(index: int, value: str, latest: datetime, oldest: datetime) -> datetime:
    if not _TIMESTAMP.fullmatch(value):
        raise _invalid(index, "timestamp", PROBLEMS["timestamp"])
    try:  # the pattern lets through month 13, hour 25, offset +99:99 and year 1 at +01:00
        moment = datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(index, "timestamp", "is not a real date and time") from None
    if moment > latest:
        raise _invalid(index, "timestamp", "is in the future")
    if moment < oldest:
        raise _invalid(
            index,
            "timestamp",
            f"is older than the raw-event retention window (events since {oldest:%Y-%m-%d} "
            "are accepted)",
        )
    return moment


def _nanos(cost_usd: str) -> int:
    whole, _, fraction = cost_usd.partition(".")
    return int(whole) * 10**9 + int(fraction.ljust(9, "0"))


# --- Why msgspec refused a batch -----------------------------------------------------------------

_AT = re.compile(r"(?P<problem>.*?)(?: - at `\$(?P<path>.*)`)?", re.DOTALL)
_PATH = re.compile(r"(?:\.events(?:\[(?P<index>\d+)\](?:\.(?P<field>\w+))?)?)?")
_MISSING = re.compile(r"Object missing required field `(?P<field>\w+)`")


def _explained(body: bytes, error: msgspec.ValidationError) -> BatchRejected:
    try:
        _refuse_forbidden_fields(msgspec.json.decode(body))
    except msgspec.DecodeError:  # JSON nested too deep to read untyped
        return BatchRejected("invalid_request", "body: not a batch of usage events", field="body")
    where = _AT.fullmatch(str(error))
    path = _PATH.fullmatch(where["path"] or "")
    missing = _MISSING.match(where["problem"])
    if path is None:  # a path this schema cannot produce; still a refusal, never a crash
        return BatchRejected("invalid_request", "body: not a batch of usage events", field="body")
    if path["index"] is None:
        return _batch_problem(where["path"], missing)
    index = int(path["index"])
    if path["field"] in PROBLEMS:
        return _invalid(index, path["field"], PROBLEMS[path["field"]])
    if missing:
        return _invalid(index, missing["field"], "is required")
    return BatchRejected(
        "invalid_request", f"events[{index}]: must be an object", index=index, field=""
    )


def _batch_problem(path: str | None, missing) -> BatchRejected:
    if path == ".events" or missing:
        return BatchRejected(
            "invalid_request",
            f"events: must be a list of at most {MAX_EVENTS:,} events",
            field="events",
        )
    return BatchRejected("invalid_request", 'body: must be an object {"events": [...]}')


def _refuse_forbidden_fields(body: object) -> None:
    """Refuse the batch if the body or any event holds a field outside the schema."""
    if not isinstance(body, dict):
        return
    extra = sorted(set(body) - {"events"})
    if extra:
        raise BatchRejected(
            "forbidden_field",
            f"The body may hold only 'events'; {_field_names(extra)} is not usage metadata. "
            "Nothing in this batch was stored.",
            field=_shown_name(extra[0]),
        )
    events = body.get("events")
    for index, raw in enumerate(events if isinstance(events, list) else ()):
        extra = sorted(raw.keys() - ALLOWED_FIELDS) if isinstance(raw, dict) else ()
        if extra:
            raise BatchRejected(
                "forbidden_field",
                f"events[{index}] has {_field_names(extra)}: only usage metadata fields are "
                "accepted. Nothing in this batch was stored.",
                index=index,
                field=_shown_name(extra[0]),
            )


def _field_names(names: list[str]) -> str:
    shown = ", ".join(repr(_shown_name(name)) for name in names[:5])
    return shown + (", …" if len(names) > 5 else "")


def _shown_name(name: str) -> str:
    # Field names come from the client too: echo only identifier-like ones, so a "name" that
    # is really a prompt is never repeated back.
    return name if _FIELD_NAME.fullmatch(name) else "<not a field name>"
