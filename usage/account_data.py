"""An account's own usage metadata: what is stored, all of it as a download, and deleting it.
The account's privacy inquiries are part of the export and go with the deletion.

The export is a ZIP of CSV files written while the database is read: rows come in chunks from
a cursor, go through the CSV writer and the compressor, and leave as bytes, so neither the
table nor the archive is ever whole in memory. Rankings are not the account's data (they have
no account column and count only models used by many accounts), so neither the export nor the
deletion touches them.
"""

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from django.db import transaction
from django.db.models import Count, Max, Min

from core.csv_export import SafeWriter
from dashboard import inquiries
from usage import histogram
from usage.models import (
    COUNTERS,
    AccountLatency,
    DailyUsage,
    HourlyUsage,
    Status,
    UsageEvent,
)

CHUNK = 2_000

# Everything stored about one account, by the name used in the export, the audit log and counts.
TABLES = {
    "raw_events": UsageEvent,
    "hourly_usage": HourlyUsage,
    "daily_usage": DailyUsage,
    "account_latency": AccountLatency,
}


@dataclass(frozen=True, slots=True)
class Summary:
    raw_events: int
    raw_first: datetime | None
    raw_last: datetime | None
    hourly_rows: int
    daily_rows: int
    daily_first: date | None
    daily_last: date | None
    latency_rows: int
    inquiries: int = 0

    @property
    def is_empty(self) -> bool:
        usage = self.raw_events or self.hourly_rows or self.daily_rows or self.latency_rows
        return not (usage or self.inquiries)


def usage_summary(account) -> Summary:
    """Counts and date spans of the account's usage metadata, in five queries."""
    raw = UsageEvent.objects.filter(account=account).aggregate(
        n=Count("*"), first=Min("timestamp"), last=Max("timestamp")
    )
    daily = DailyUsage.objects.filter(account=account).aggregate(
        n=Count("*"), first=Min("day"), last=Max("day")
    )
    return Summary(
        raw_events=raw["n"],
        raw_first=raw["first"],
        raw_last=raw["last"],
        hourly_rows=HourlyUsage.objects.filter(account=account).count(),
        daily_rows=daily["n"],
        daily_first=daily["first"],
        daily_last=daily["last"],
        latency_rows=AccountLatency.objects.filter(account=account).count(),
        inquiries=inquiries.count_for_account(account),
    )


@transaction.atomic
def delete_usage(account) -> dict[str, int]:
    """Delete every row of usage metadata of the account, and its privacy inquiries with
    their threads; the number deleted per table."""
    counts = {
        name: model.objects.filter(account=account).delete()[0] for name, model in TABLES.items()
    }
    return counts | {"inquiries": inquiries.delete_for_account(account)}


# --- Export ------------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file for zipfile: it then writes each member with a data
    descriptor after the data, and the bytes can be taken out as soon as they are written."""

    def __init__(self):
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return data


def export_zip(account) -> Iterator[bytes]:
    """The account's usage metadata as the bytes of a ZIP archive, produced as rows are read."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        for name, columns, rows in _files(account):
            yield from _write_csv(archive, sink, name, columns, rows)
    yield sink.take()


def _write_csv(archive, sink, name, columns, rows) -> Iterator[bytes]:
    # force_zip64: the size is unknown when the member starts, and may pass 2 GiB.
    entry = archive.open(name, "w", force_zip64=True)
    with io.TextIOWrapper(entry, encoding="utf-8", newline="") as text:
        writer = SafeWriter(text)
        writer.writerow(columns)
        for count, row in enumerate(rows, 1):
            writer.writerow(row)
            if count % CHUNK == 0:
                text.flush()
                if data := sink.take():
                    yield data
    if data := sink.take():
        yield data


def _files(account):
    yield "raw_events.csv", RAW_COLUMNS, _raw_rows(account)
    yield "hourly_usage.csv", ["hour", *ROLLUP_COLUMNS], _rollup_rows(HourlyUsage, "hour", account)
    yield "daily_usage.csv", ["day", *ROLLUP_COLUMNS], _rollup_rows(DailyUsage, "day", account)
    yield "account_latency.csv", ACCOUNT_LATENCY_COLUMNS, _account_latency_rows(account)
    yield "inquiries.csv", inquiries.EXPORT_INQUIRY_COLUMNS, inquiries.export_inquiry_rows(account)
    yield (
        "inquiry_messages.csv",
        inquiries.EXPORT_MESSAGE_COLUMNS,
        inquiries.export_message_rows(account),
    )


def _stream(queryset, *fields) -> Iterable[tuple]:
    return queryset.values_list(*fields).iterator(chunk_size=CHUNK)


def _usd(nanos: int | None) -> str:
    if nanos is None:
        return ""
    dollars, rest = divmod(int(nanos), 10**9)  # rollups hold a Decimal
    return f"{dollars}.{rest:09d}"


def _iso(moment) -> str:
    return moment.isoformat()


RAW_COLUMNS = [
    "timestamp",
    "event_id",
    "api_key",
    "model",
    "provider",
    "tokens_prompt",
    "tokens_completion",
    "latency_ms",
    "status",
    "cost_usd",
]
_STATUS_LABELS = dict(Status.choices)


def _raw_rows(account):
    events = UsageEvent.objects.filter(account=account).order_by("timestamp", "event_id")
    for ts, event_id, key, model, provider, prompt, completion, latency, status, cost in _stream(
        events,
        "timestamp",
        "event_id",
        "api_key__prefix",
        "route__model",
        "route__provider",
        "tokens_prompt",
        "tokens_completion",
        "latency_ms",
        "status",
        "cost_nanos",
    ):
        yield (
            _iso(ts),
            event_id,
            key or "",
            model,
            provider,
            prompt,
            completion,
            latency,
            _STATUS_LABELS.get(status, status),
            _usd(cost),
        )


# The rollups' counters, with cost in dollars as the API reports it rather than nano-dollars.
ROLLUP_COLUMNS = [
    "api_key",
    "model",
    "provider",
    *("cost_usd" if name == "cost_nanos" else name for name in COUNTERS),
]


def _rollup_rows(model, period: str, account):
    rows = model.objects.filter(account=account).order_by(period)
    for row in _stream(
        rows,
        period,
        "api_key__prefix",
        "route__model",
        "route__provider",
        *COUNTERS,
    ):
        start, key, *middle, cost, latency_sum = row
        yield (_iso(start), key or "", *middle, _usd(cost), latency_sum)


@cache
def bucket_bounds(bucket: int) -> tuple[str, str]:
    """A latency bucket's range in ms as text: (above, up to); the last bucket has no top."""
    if bucket <= 0:
        return "", "0"
    above = f"{histogram.GAMMA ** (bucket - 2):.3f}"
    top = "" if bucket >= histogram.BUCKETS - 1 else f"{histogram.GAMMA ** (bucket - 1):.3f}"
    return above, top


ACCOUNT_LATENCY_COLUMNS = ["span", "start", "bucket", "above_ms", "up_to_ms", "count"]


def _account_latency_rows(account):
    rows = AccountLatency.objects.filter(account=account).order_by("span", "start", "bucket")
    for span, start, bucket, count in _stream(rows, "span", "start", "bucket", "count"):
        label = AccountLatency.Span(span).label
        yield (label, _iso(start), bucket, *bucket_bounds(bucket), count)


README = """\
Usage metadata of one AnyAPI account: metadata only, never prompts or responses.
Times are UTC (ISO 8601). cost_usd is exact to 9 decimal places. api_key is the visible
prefix of the API key (empty when the gateway reported none).

raw_events.csv       one row per request, kept for a limited number of days
hourly_usage.csv     per hour, API key and model@provider: counts, tokens, cost, latency sum
daily_usage.csv      the same per UTC day
account_latency.csv  the account's latency histogram per hour and per day: requests per
                     latency bucket; a bucket holds latencies above above_ms and up to up_to_ms
inquiries.csv        the account's questions to AnyAPI's privacy team
inquiry_messages.csv their threads: every message from the account and every answer
"""
