"""The request log: the account's raw usage events still kept, newest first, by keyset.

Metadata only, as stored: time, key, model, provider, tokens, latency, status, cost. A page is
one query whatever its position: the cursor is the last row's (timestamp, event id), which the
raw events' primary key (account, timestamp, event id) orders, so no OFFSET is ever scanned.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from usage.models import Status, UsageEvent

PAGE = 50
NANOS_PER_USD = Decimal(10**9)


@dataclass(frozen=True)
class Filters:
    key: str = ""  # prefix
    model: str = ""
    provider: str = ""
    status: str = ""  # a Status label

    @classmethod
    def from_params(cls, params) -> "Filters":
        status = params.get("status", "")
        return cls(
            key=params.get("key", "").strip()[:40],
            model=params.get("model", "").strip()[:120],
            provider=params.get("provider", "").strip().lower()[:60],
            status=status if status in Status.labels else "",
        )

    def as_params(self) -> dict:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class Cursor:
    timestamp: datetime
    event_id: uuid.UUID

    def encode(self) -> str:
        return f"{self.timestamp.isoformat()}~{self.event_id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor | None":
        moment, _, event_id = (text or "").partition("~")
        try:
            timestamp = parse_datetime(moment)
            return cls(timestamp, uuid.UUID(event_id)) if timestamp else None
        except ValueError:
            return None


@dataclass(frozen=True)
class LoggedRequest:
    timestamp: datetime
    event_id: uuid.UUID
    key_prefix: str | None
    key_name: str | None
    model: str
    provider: str
    tokens_prompt: int
    tokens_completion: int
    latency_ms: int
    status: str
    cost_usd: Decimal | None

    @property
    def endpoint_id(self) -> str:
        return f"{self.model}@{self.provider}"


def page(account, filters: Filters, after: Cursor | None = None, size: int | None = None):
    """Up to `size` (PAGE) events older than `after`, and the next page's cursor (or None)."""
    size = size or PAGE
    events = UsageEvent.objects.filter(account=account)
    if filters.key:
        events = events.filter(api_key__prefix=filters.key)
    if filters.model:
        events = events.filter(route__model=filters.model)
    if filters.provider:
        events = events.filter(route__provider=filters.provider)
    if filters.status:
        events = events.filter(status=Status[filters.status.upper()])
    if after is not None:
        events = events.filter(
            Q(timestamp__lt=after.timestamp)
            | Q(timestamp=after.timestamp, event_id__lt=after.event_id)
        )
    rows = list(
        events.order_by("-timestamp", "-event_id").values_list(
            "timestamp",
            "event_id",
            "api_key__prefix",
            "api_key__name",
            "route__model",
            "route__provider",
            "tokens_prompt",
            "tokens_completion",
            "latency_ms",
            "status",
            "cost_nanos",
        )[: size + 1]
    )
    found = [_logged(row) for row in rows[:size]]
    more = len(rows) > size
    return found, Cursor(found[-1].timestamp, found[-1].event_id) if more else None


def _logged(row) -> LoggedRequest:
    *head, status, cost_nanos = row
    cost = None if cost_nanos is None else Decimal(cost_nanos) / NANOS_PER_USD
    return LoggedRequest(*head, Status(status).label, cost)
