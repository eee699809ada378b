"""An account's activity: the figures behind each card of the activity page, the staff
overview of every account, and the CSV export.

Everything reads the rollups, never raw events (`RollupQuerySet`, and `AccountLatency` for
percentiles), and each function sends a fixed number of aggregating queries whatever the
traffic. Which rollup a period reads, and how it splits, is `usage.periods`' business; which
policies the traffic went to is `usage.posture`'s.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import CharField, Q, StringAgg, Value
from django.db.models.functions import Cast

from usage import histogram
from usage.models import (
    COUNTERS,
    GROUP_COLUMNS,
    AccountLatency,
    DailyUsage,
    HourlyUsage,
    any_of,
    rollup_for,
    summed,
)
from usage.periods import Period, compared_pieces, point_of

QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Totals:
    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    rejections: int = 0
    tokens_prompt: int = 0
    tokens_completion: int = 0
    cost_nanos: int = 0
    latency_ms_sum: int = 0

    @classmethod
    def of(cls, row: Mapping, prefix: str = "") -> "Totals":
        return cls(**{name: int(row[prefix + name] or 0) for name in COUNTERS})

    @classmethod
    def total(cls, many) -> "Totals":
        many = list(many)
        return cls(**{name: sum(getattr(totals, name) for totals in many) for name in COUNTERS})

    @property
    def tokens(self) -> int:
        return self.tokens_prompt + self.tokens_completion

    @property
    def failures(self) -> int:
        """Requests that did not end well: errors, timeouts and rejections."""
        return self.errors + self.timeouts + self.rejections

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def avg_latency_ms(self) -> float | None:
        return self.latency_ms_sum / self.requests if self.requests else None

    @property
    def cost_usd(self) -> Decimal:
        return Decimal(self.cost_nanos).scaleb(-9)


def has_usage(account) -> bool:
    """Whether the gateway ever reported traffic for the account (the daily rollup's index)."""
    return DailyUsage.objects.filter(account=account).exists()


def _rows(account, period: Period):
    return rollup_for(period).objects.for_account(account).in_period(period)


def _counters(prefix: str, condition: Q) -> dict:
    return {f"{prefix}{name}": summed(name, condition) for name in COUNTERS}


def _compared_totals(scope: Callable, period: Period, *group_by: str, before=None):
    """The counters of `period` (as now_<counter>) and of the one before it (before_<counter>,
    or what `before` sums under the previous period's condition), in one query: a union of the
    daily rows of whole days and, for hourly periods, the hourly rows of the hours around them.
    """
    pieces = compared_pieces(period)
    parts = []
    for table in [DailyUsage, HourlyUsage] if period.hourly else [DailyUsage]:
        rows = scope(table.objects.in_pieces(pieces))
        current = rows.since(period.start)
        previous = before(~current) if before else _counters("before_", ~current)
        sums = {**_counters("now_", current), **previous}
        parts.append(rows.values(*group_by).annotate(**sums).order_by())
    first, *others = parts
    return first.union(*others, all=True) if others else first


@dataclass(frozen=True)
class Summary:
    current: Totals
    previous: Totals
    latency: dict[float, float | None]
    previous_latency: dict[float, float | None]


def summary(account, period: Period) -> Summary:
    """Totals and latency percentiles of the period and of the one before it (two queries)."""
    found = list(_compared_totals(lambda rows: rows.for_account(account), period, "account"))
    current, previous = _latency_by_bucket(account, period)
    return Summary(
        Totals.total(Totals.of(row, "now_") for row in found),
        Totals.total(Totals.of(row, "before_") for row in found),
        histogram.percentiles(current, QUANTILES),
        histogram.percentiles(previous, QUANTILES),
    )


def _latency_rows(account, period: Period):
    span = AccountLatency.Span.HOUR if period.hourly else AccountLatency.Span.DAY
    return AccountLatency.objects.filter(
        account=account, span=span, start__gte=period.start, start__lt=period.end
    )


def _latency_by_bucket(account, period: Period) -> tuple[dict, dict]:
    """The account's latency histograms of the period and of the one before it."""
    days, hours = AccountLatency.Span.DAY, AccountLatency.Span.HOUR
    pieces = any_of(
        Q(span=days if whole else hours, start__gte=a, start__lt=b)
        for whole, a, b in compared_pieces(period)
    )
    rows = (
        AccountLatency.objects.filter(pieces, account=account)
        .values("bucket")
        .annotate(
            now=summed("count", Q(start__gte=period.start)),
            before=summed("count", Q(start__lt=period.start)),
        )
        .order_by()
    )
    current, previous = {}, {}
    for row in rows:
        current[row["bucket"]], previous[row["bucket"]] = row["now"], row["before"]
    return current, previous


@dataclass(frozen=True)
class Series:
    points: list[datetime]
    totals: list[Totals]


def usage_series(account, period: Period) -> Series:
    """Per-point totals, with empty points filled in (one query)."""
    rows = _rows(account, period)
    column = rows.model.PERIOD
    found = {point_of(row[column]): Totals.of(row) for row in rows.series()}
    points = period.points()
    return Series(points, [found.get(point, Totals()) for point in points])


@dataclass(frozen=True)
class LatencySeries:
    points: list[datetime]
    percentiles: dict[float, list[float | None]]  # quantile -> one value per point
    overall: dict[float, float | None]


def latency_series(account, period: Period) -> LatencySeries:
    """p50/p95/p99 per point and over the whole period, from the account-wide histograms
    (one query)."""
    # One row per point, its histogram as two lists "b1,b2,…" and "c1,c2,…": a week has ~170
    # points of up to a few hundred buckets, and reading them as rows costs more than the whole
    # query; lists of numbers parse in C.
    rows = (
        _latency_rows(account, period)
        .values("start")
        .annotate(buckets=_joined("bucket"), counts=_joined("count"))
        .order_by()
    )
    per_point = {point_of(row["start"]): _sorted_histogram(row) for row in rows}
    points, empty = period.points(), ((), ())
    values = {q: [] for q in QUANTILES}
    for point in points:
        found = histogram.sorted_percentiles(*per_point.get(point, empty), QUANTILES)
        for q, value in found.items():
            values[q].append(value)
    overall = histogram.merge(*(dict(zip(*pair, strict=True)) for pair in per_point.values()))
    return LatencySeries(points, values, histogram.percentiles(overall, QUANTILES))


def _joined(column: str) -> StringAgg:
    return StringAgg(Cast(column, CharField()), Value(","))


def _sorted_histogram(row: Mapping) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A point's (buckets, counts) in bucket order, from the two lists in the same order."""
    buckets, counts = map(int, row["buckets"].split(",")), map(int, row["counts"].split(","))
    pairs = sorted(zip(buckets, counts, strict=True))
    return tuple(bucket for bucket, _ in pairs), tuple(count for _, count in pairs)


@dataclass(frozen=True)
class GroupRow:
    key: str  # model slug, provider slug or key prefix ("" for requests sent without a key)
    label: str
    totals: Totals
    share: float  # of the period's requests


def breakdown(account, period: Period) -> list[GroupRow]:
    """The period's totals by the period's grouping, most requests first (one query)."""
    columns = GROUP_COLUMNS[period.grouping]
    found = _rows(account, period).breakdown(period.grouping)
    groups = [(_group_key(row, columns), Totals.of(row)) for row in found]
    total = sum(totals.requests for _, totals in groups)
    groups.sort(key=lambda group: (-group[1].requests, group[0]))
    return [
        GroupRow(key, label, totals, totals.requests / total if total else 0.0)
        for (key, label), totals in groups
    ]


def _group_key(row: Mapping, columns: tuple[str, ...]) -> tuple[str, str]:
    if columns[0] != "api_key__prefix":
        return row[columns[0]], row[columns[0]]
    prefix = row["api_key__prefix"]
    if prefix is None:
        return "", "No key"
    return prefix, f"{row['api_key__name']} ({prefix}…)"


# --- Staff overview and export ------------------------------------------------------------------


@dataclass(frozen=True)
class AccountTotals:
    slug: str
    name: str
    totals: Totals
    previous_requests: int


def all_accounts(period: Period) -> list[AccountTotals]:
    """Every account with traffic in the period or the one before, busiest first (one query)."""
    found = _compared_totals(
        lambda rows: rows,
        period,
        "account__slug",
        "account__name",
        before=lambda condition: {"before": summed("requests", condition)},
    )
    merged: dict[tuple[str, str], list] = defaultdict(lambda: [Totals(), 0])
    for row in found:
        entry = merged[(row["account__slug"], row["account__name"])]
        entry[0] = Totals.total([entry[0], Totals.of(row, "now_")])
        entry[1] += row["before"]
    accounts = [AccountTotals(slug, name, *entry) for (slug, name), entry in merged.items()]
    return sorted(accounts, key=lambda a: (-a.totals.requests, -a.previous_requests, a.slug))


EXPORT_COLUMNS = [
    "period_start",
    "requests",
    "errors",
    "timeouts",
    "rejections",
    "tokens_prompt",
    "tokens_completion",
    "cost_usd",
    "latency_ms_avg",
]


def export_columns(period: Period) -> list[str]:
    group = {"model": "model", "provider": "provider", "key": "api_key"}[period.grouping]
    return [EXPORT_COLUMNS[0], group, *EXPORT_COLUMNS[1:]]


def export_rows(account, period: Period) -> Iterator[list]:
    """One CSV row per point and group, in time order, streamed from the database."""
    rows = _rows(account, period)
    column, group = rows.model.PERIOD, GROUP_COLUMNS[period.grouping][0]
    found = rows.totals(column, group).order_by(column, group)
    for row in found.iterator(chunk_size=2000):
        totals = Totals.of(row)
        average = totals.avg_latency_ms
        yield [
            point_of(row[column]).isoformat(),
            row[group] or "",
            *(getattr(totals, name) for name in COUNTERS[:6]),
            f"{totals.cost_usd:.9f}",
            "" if average is None else f"{average:.1f}",
        ]
