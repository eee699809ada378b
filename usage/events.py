"""The usage event schema: a strict allowlist of metadata fields, checked without the database.

Error messages name the event index and the field but never repeat a value: a rejected value
may be exactly the prompt text the schema exists to keep out.
"""

import json
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


class _WireEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The event's shape, types and ranges, which msgspec checks in C while decoding; the
    string patterns are checked after, once per distinct name in the batch."""

    id: uuid.UUID
    account: str
    timestamp: str
    model: str
    provider: str
    tokens_prompt: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
    tokens_completion: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]
    latency_ms: Annotated[int, msgspec.Meta(ge=0, le=MAX_LATENCY_MS)]
    status: Literal["ok", "error", "timeout", "rejected"]
    api_key: str | None = None
    cost_usd: str | None = None


class _WireBatch(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[_WireEvent], msgspec.Meta(max_length=MAX_EVENTS)]


_decode_batch = msgspec.json.Decoder(_WireBatch).decode

# The allowlist is the wire struct's fields, so the fast and the precise readings share it.
ALLOWED_FIELDS = frozenset(_WireEvent.__struct_fields__)
REQUIRED_FIELDS = frozenset(f.name for f in msgspec.structs.fields(_WireEvent) if f.required)

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


class _Unclear(Exception):
    """The fast reading cannot vouch for a batch; the precise one decides."""


def parse_body(body: bytes, now: datetime, oldest: datetime) -> list[Event]:
    """The events of a JSON request body, or BatchRejected.

    A well-formed batch is decoded and checked in one fast pass; any batch that pass does not
    accept, for whatever reason, is read again by `parse_batch`, which finds and names the
    first problem (forbidden fields before anything else). Both apply the same rules, so they
    accept and refuse alike (tests/usage/test_event_schema.py).
    """
    try:
        return _fast_events(_decode_batch(body).events, now + FUTURE_TOLERANCE, oldest)
    except (msgspec.DecodeError, _Unclear):  # DecodeError covers msgspec's ValidationError
        return parse_batch(_json(body), now, oldest)


def _fast_events(wire: list[_WireEvent], latest: datetime, oldest: datetime) -> list[Event]:
    names_seen: set[tuple] = set()  # a batch repeats a few accounts, models and keys
    events = []
    for raw in wire:
        names = (raw.account, raw.model, raw.provider, raw.api_key)
        if names not in names_seen:
            _require_names(names)
            names_seen.add(names)
        if not _TIMESTAMP.fullmatch(raw.timestamp):
            raise _Unclear
        moment = datetime.fromisoformat(raw.timestamp).astimezone(UTC)
        cost = raw.cost_usd
        if not oldest <= moment <= latest or (cost is not None and not _COST.fullmatch(cost)):
            raise _Unclear
        events.append(
            Event(
                moment,
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


def _require_names(names: tuple) -> None:
    account, model, provider, api_key = names
    if not (
        _ACCOUNT.fullmatch(account)
        and _MODEL.fullmatch(model)
        and _PROVIDER.fullmatch(provider)
        and (api_key is None or _KEY_PREFIX.fullmatch(api_key))
    ):
        raise _Unclear


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BatchRejected("invalid_request", "The body must be JSON.", field="body") from None


def parse_batch(body: object, now: datetime, oldest: datetime) -> list[Event]:
    """The batch's events, or BatchRejected.

    Forbidden fields are looked for in every event before any value is checked, so a batch
    carrying content is always refused as `forbidden_field`, whatever else is wrong with it.
    """
    events = _events_list(body)
    for index, raw in enumerate(events):
        _refuse_unknown_fields(index, raw)
    return [_parse_event(index, raw, now, oldest) for index, raw in enumerate(events)]


def _events_list(body: object) -> list:
    if not isinstance(body, dict):
        raise BatchRejected("invalid_request", 'body: must be an object {"events": [...]}')
    extra = sorted(set(body) - {"events"})
    if extra:
        raise BatchRejected(
            "forbidden_field",
            f"The body may hold only 'events'; {_field_names(extra)} is not usage metadata. "
            "Nothing in this batch was stored.",
            field=_shown_name(extra[0]),
        )
    events = body.get("events")
    if not isinstance(events, list):
        raise BatchRejected("invalid_request", "events: must be a list", field="events")
    if len(events) > MAX_EVENTS:
        raise BatchRejected(
            "invalid_request",
            f"events: at most {MAX_EVENTS:,} events per batch, got {len(events):,}",
            field="events",
        )
    return events


def _field_names(names: list[str]) -> str:
    shown = ", ".join(repr(_shown_name(name)) for name in names[:5])
    return shown + (", …" if len(names) > 5 else "")


def _shown_name(name: str) -> str:
    # Field names come from the client too: echo only identifier-like ones, so a "name" that
    # is really a prompt is never repeated back.
    return name if _FIELD_NAME.fullmatch(name) else "<not a field name>"


def _refuse_unknown_fields(index: int, raw: object) -> None:
    if not isinstance(raw, dict):
        raise BatchRejected("invalid_request", f"events[{index}]: must be an object", index=index)
    extra = raw.keys() - ALLOWED_FIELDS
    if extra:
        extra = sorted(extra)
        raise BatchRejected(
            "forbidden_field",
            f"events[{index}] has {_field_names(extra)}: only usage metadata fields are "
            "accepted. Nothing in this batch was stored.",
            index=index,
            field=_shown_name(extra[0]),
        )


def _parse_event(index: int, raw: dict, now: datetime, oldest: datetime) -> Event:
    missing = REQUIRED_FIELDS - raw.keys()
    if missing:
        raise _invalid(index, min(missing), "is required")
    api_key = raw.get("api_key")
    cost = raw.get("cost_usd")
    return Event(
        timestamp=_timestamp(index, raw["timestamp"], now, oldest),
        event_id=_uuid(index, raw["id"]),
        account=_matching(index, "account", raw["account"], _ACCOUNT, "an account slug"),
        api_key=None
        if api_key is None
        else _matching(index, "api_key", api_key, _KEY_PREFIX, "a 12-character key prefix"),
        model=_matching(index, "model", raw["model"], _MODEL, "a model slug"),
        provider=_matching(index, "provider", raw["provider"], _PROVIDER, "a provider slug"),
        tokens_prompt=_count(index, "tokens_prompt", raw["tokens_prompt"], MAX_TOKENS),
        tokens_completion=_count(index, "tokens_completion", raw["tokens_completion"], MAX_TOKENS),
        latency_ms=_count(index, "latency_ms", raw["latency_ms"], MAX_LATENCY_MS),
        status=_status(index, raw["status"]),
        cost_nanos=None if cost is None else _cost_nanos(index, cost),
    )


def _matching(index: int, field: str, value: object, pattern: re.Pattern, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _invalid(index, field, f"must be {what}")
    return value


def _uuid(index: int, value: object) -> uuid.UUID:
    if isinstance(value, str) and len(value) <= 36:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise _invalid(index, "id", "must be a UUID")


def _timestamp(index: int, value: object, now: datetime, oldest: datetime) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise _invalid(index, "timestamp", "must be an ISO 8601 date and time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(index, "timestamp", "must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise _invalid(index, "timestamp", "must include a UTC offset (or Z)")
    if not _TIMESTAMP.fullmatch(value):
        raise _invalid(
            index, "timestamp", "must be an ISO 8601 date and time to the microsecond at most"
        )
    moment = moment.astimezone(UTC)
    if moment > now + FUTURE_TOLERANCE:
        raise _invalid(index, "timestamp", "is in the future")
    if moment < oldest:
        raise _invalid(
            index,
            "timestamp",
            f"is older than the raw-event retention window (events since {oldest:%Y-%m-%d} "
            "are accepted)",
        )
    return moment


def _count(index: int, field: str, value: object, maximum: int) -> int:
    if type(value) is not int:  # bool is an int subclass; true is not a token count
        raise _invalid(index, field, "must be an integer")
    if not 0 <= value <= maximum:
        raise _invalid(index, field, f"must be between 0 and {maximum:,}")
    return value


def _status(index: int, value: object) -> int:
    if not isinstance(value, str) or value not in _STATUSES:
        raise _invalid(index, "status", f"must be one of {', '.join(_STATUSES)}")
    return _STATUSES[value]


def _cost_nanos(index: int, value: object) -> int:
    if not isinstance(value, str) or not _COST.fullmatch(value):
        raise _invalid(
            index, "cost_usd", "must be a decimal string ≥ 0 with at most 9 decimal places"
        )
    return _nanos(value)


def _nanos(cost_usd: str) -> int:
    whole, _, fraction = cost_usd.partition(".")
    return int(whole) * 10**9 + int(fraction.ljust(9, "0"))
