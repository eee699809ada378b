"""An account's activity: the period a page shows and the aggregate queries behind each card.

Everything reads the rollups, never raw events, and each function sends a fixed number of
aggregating queries whatever the traffic. Periods up to HOURLY_LIMIT read the hourly tables
(hourly points); longer ones read only `DailyUsage` and the account-wide daily latency
histograms, so a 90-day card reads about a hundred rows per day rather than thousands.
All times are UTC: the daily rollups are UTC days.
"""

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import BigIntegerField, CharField, Min, Q, StringAgg, Sum, Value
from django.db.models.functions import Cast, Coalesce

from catalog.models import PolicyVersion
from catalog.policy import resolver
from catalog.policy.badges import Badge, policy_badges
from catalog.policy.compile import to_policy
from catalog.policy.vocabulary import Retention, Training
from catalog.review.history import FieldChange
from usage import histogram
from usage.models import COUNTERS, AccountLatency, DailyUsage, HourlyUsage

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HOURLY_LIMIT = timedelta(days=7)
RANGES = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
CUSTOM = "custom"
DEFAULT_RANGE = "7d"
MAX_CUSTOM_DAYS = 366
GROUPINGS = {"model": "model", "provider": "provider", "key": "API key"}
DEFAULT_GROUPING = "model"
QUANTILES = (0.5, 0.95, 0.99)
# Compared to tell whether an endpoint's policy changed; the review date and headquarters
# are not data-policy terms.
COMPARED_FIELDS = PolicyVersion.FIELDS


# --- The period ---------------------------------------------------------------------------------


class InvalidRange(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, aligned to hours (hourly periods) or days (daily ones)."""

    range: str
    start: datetime
    end: datetime
    grouping: str = DEFAULT_GROUPING
    notices: tuple[str, ...] = ()

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def hourly(self) -> bool:
        return self.length <= HOURLY_LIMIT

    @property
    def step(self) -> timedelta:
        return HOUR if self.hourly else DAY

    def previous(self) -> "Period":
        """The period of equal length just before, for comparisons."""
        return replace(self, start=self.start - self.length, end=self.start, notices=())

    def points(self) -> list[datetime]:
        count = self.length // self.step
        return [self.start + n * self.step for n in range(count)]

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).date()

    @property
    def params(self) -> dict[str, str]:
        """The query string that shows this period again (normalized, so cards share it)."""
        params = {"range": self.range, "group": self.grouping}
        if self.range == CUSTOM:
            params |= {"start": self.start.date().isoformat(), "end": self.last_day.isoformat()}
        return params

    @property
    def label(self) -> str:
        return RANGES[self.range][0] if self.range in RANGES else self.dates

    @property
    def dates(self) -> str:
        """The period's bounds in words: its hours when it does not start at midnight."""
        if self.start.hour:
            return f"{_moment(self.start)} – {_moment(self.end)} UTC"
        first, last = self.start.date(), self.last_day
        if first == last:
            return _day(first)
        return f"{_day(first)} – {_day(last)}"


def _day(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _moment(moment: datetime) -> str:
    return f"{moment:%b} {moment.day} {moment:%H}:00"


def parse_period(params: Mapping[str, str], now: datetime) -> Period:
    """The period asked for by GET parameters; anything invalid falls back to the default
    with a notice that says what was ignored, so a bad link never fails the page."""
    notices = []
    grouping = params.get("group") or DEFAULT_GROUPING
    if grouping not in GROUPINGS:
        notices.append("Unknown grouping in the address: usage is broken down by model.")
        grouping = DEFAULT_GROUPING
    name = params.get("range") or DEFAULT_RANGE
    if name == CUSTOM:
        try:
            start, end = _custom_bounds(params.get("start"), params.get("end"), now)
        except InvalidRange as exc:
            notices.append(f"{exc} Showing the last 7 days instead.")
        else:
            return Period(CUSTOM, start, end, grouping, tuple(notices))
    elif name not in RANGES:
        notices.append("Unknown range in the address: showing the last 7 days.")
    if name not in RANGES:
        name = DEFAULT_RANGE
    start, end = _rolling_bounds(RANGES[name][1], now)
    return Period(name, start, end, grouping, tuple(notices))


def _rolling_bounds(length: timedelta, now: datetime) -> tuple[datetime, datetime]:
    # The current hour (or day) is included although it is still filling up.
    now = now.astimezone(UTC)
    if length <= HOURLY_LIMIT:
        end = now.replace(minute=0, second=0, microsecond=0) + HOUR
    else:
        end = datetime.combine(now.date(), time(), UTC) + DAY
    return end - length, end


def _custom_bounds(start: str | None, end: str | None, now: datetime):
    if not start or not end:
        raise InvalidRange("A custom range needs both a start and an end date.")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidRange("The custom dates must be dates like 2026-11-30.") from None
    today = now.astimezone(UTC).date()
    if first > last:
        raise InvalidRange("The custom range starts after it ends.")
    if first > today:
        raise InvalidRange("The custom range starts in the future.")
    last = min(last, today)
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise InvalidRange(f"A custom range covers at most {MAX_CUSTOM_DAYS} days.")
    begins = datetime.combine(first, time(), UTC)
    ends = datetime.combine(last, time(), UTC) + DAY
    if ends - begins <= HOURLY_LIMIT:  # hourly points: stop at the current hour, not midnight
        ends = min(ends, now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + HOUR)
    return begins, ends


# --- Reading the rollups ------------------------------------------------------------------------


def _rollup(period: Period):
    """The rollup rows of `period` (any account) and the name of their time column."""
    if period.hourly:
        return HourlyUsage.objects.filter(hour__gte=period.start, hour__lt=period.end), "hour"
    days = DailyUsage.objects.filter(day__gte=period.start.date(), day__lt=period.end.date())
    return days, "day"


def _pieces(start: datetime, end: datetime) -> list[tuple[bool, datetime, datetime]]:
    """[start, end) (whole hours) as (whole days?, from, to): the whole UTC days in it and the
    hours around them. Reading whole days from the daily rollups gives the same sums from a
    twenty-fourth of the rows."""
    first = datetime.combine(start.date(), time(), UTC)
    first += DAY if first < start else timedelta(0)
    last = datetime.combine(end.date(), time(), UTC)
    if first >= last:
        return [(False, start, end)]
    pieces = [(True, first, last)]
    if start < first:
        pieces.append((False, start, first))
    if last < end:
        pieces.append((False, last, end))
    return pieces


def _any(conditions) -> Q:
    found = Q()
    for condition in conditions:
        found |= condition
    return found or Q(pk__in=[])  # no piece: match nothing (Django skips the query part)


def _compared(period: Period) -> list[tuple[bool, datetime, datetime]]:
    """The pieces of `period` and of the one before it; none straddles `period.start`."""
    before = period.previous()
    if not period.hourly:
        return [(True, before.start, period.end)]
    return [*_pieces(before.start, period.start), *_pieces(period.start, period.end)]


def _compared_rollups(period: Period) -> list[tuple[object, Q]]:
    """The rollup rows (any account) of `period` and of the one before it, each queryset with
    the condition that tells this period's rows from the previous one's."""
    pieces = _compared(period)
    days = DailyUsage.objects.filter(
        _any(Q(day__gte=a.date(), day__lt=b.date()) for whole, a, b in pieces if whole)
    )
    parts = [(days, Q(day__gte=period.start.date()))]
    if period.hourly:
        hours = _any(Q(hour__gte=a, hour__lt=b) for whole, a, b in pieces if not whole)
        parts.append((HourlyUsage.objects.filter(hours), Q(hour__gte=period.start)))
    return parts


def _union(querysets):
    first, *others = querysets
    return first.union(*others, all=True) if others else first


def _point(value) -> datetime:
    """A time column's value as the datetime its point starts at."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(), UTC)


def _sum(name: str, condition: Q | None = None):
    # PostgreSQL sums bigints as numeric; the cast keeps every total an int on every backend.
    return Cast(Coalesce(Sum(name, filter=condition), 0), BigIntegerField())


def _sums(prefix: str = "", condition: Q | None = None) -> dict:
    return {prefix + name: _sum(name, condition) for name in COUNTERS}


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


@dataclass(frozen=True)
class Summary:
    current: Totals
    previous: Totals
    latency: dict[float, float | None]
    previous_latency: dict[float, float | None]


def summary(account, period: Period) -> Summary:
    """Totals and latency percentiles of the period and of the one before it (two queries)."""
    parts = [
        rows.filter(account=account)
        .values("account")
        .annotate(**_sums("now_", is_current), **_sums("before_", ~is_current))
        .order_by()
        for rows, is_current in _compared_rollups(period)
    ]
    found = list(_union(parts))
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
    pieces = _any(
        Q(span=days if whole else hours, start__gte=a, start__lt=b)
        for whole, a, b in _compared(period)
    )
    rows = (
        AccountLatency.objects.filter(pieces, account=account)
        .values("bucket")
        .annotate(
            now=_sum("count", Q(start__gte=period.start)),
            before=_sum("count", Q(start__lt=period.start)),
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
    rows, column = _rollup(period)
    found = {
        _point(row[column]): Totals.of(row)
        for row in rows.filter(account=account).values(column).annotate(**_sums()).order_by()
    }
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
    per_point = {_point(row["start"]): _sorted_histogram(row) for row in rows}
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


_GROUP_COLUMNS = {
    "model": ("route__model",),
    "provider": ("route__provider",),
    "key": ("api_key__prefix", "api_key__name"),
}


def breakdown(account, period: Period) -> list[GroupRow]:
    """The period's totals by the period's grouping, most requests first (one query)."""
    rows, _ = _rollup(period)
    columns = _GROUP_COLUMNS[period.grouping]
    found = rows.filter(account=account).values(*columns).annotate(**_sums()).order_by()
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


# --- Endpoints and their policies ---------------------------------------------------------------


@dataclass(frozen=True)
class RouteUsage:
    model: str
    provider: str
    known: bool  # False: the catalog lacked this endpoint when the gateway first reported it
    requests: int
    tokens: int
    first: datetime  # start of the first point with traffic in the period

    @property
    def endpoint_id(self) -> str:
        return f"{self.model}@{self.provider}"


def routes_used(account, period: Period) -> list[RouteUsage]:
    """The endpoints that served the account in the period, busiest first (one query)."""
    rows, column = _rollup(period)
    found = (
        rows.filter(account=account)
        .values("route__model", "route__provider", "route__known")
        .annotate(requests=_sum("requests"), prompt=_sum("tokens_prompt"))
        .annotate(completion=_sum("tokens_completion"), first=Min(column))
        .order_by()
    )
    routes = [
        RouteUsage(
            row["route__model"],
            row["route__provider"],
            row["route__known"],
            row["requests"],
            row["prompt"] + row["completion"],
            _point(row["first"]),
        )
        for row in found
    ]
    return sorted(routes, key=lambda r: (-r.requests, r.endpoint_id))


def catalog_endpoints(catalog: resolver.Catalog) -> dict[str, resolver.Endpoint]:
    return {endpoint.id: endpoint for endpoint in catalog.endpoints_for(resolver.AUTO_MODEL)}


@dataclass(frozen=True)
class EndpointRow:
    route: RouteUsage
    policy: resolver.Policy | None  # None: not in the catalog, so every term is unknown
    badges: list[Badge]  # training, retention, safety, then publishing, certifications, stale
    flags: list[Badge]  # what is wrong with the route itself
    provider_listed: bool  # the catalog has a page for the provider
    share: float  # of the period's requests


NOT_IN_CATALOG = Badge("not in catalog", "bad", "The catalog has no policy for this endpoint")
FIRST_SEEN_UNKNOWN = Badge(
    "unknown route", "warn", "The catalog lacked this endpoint when the gateway first used it"
)


def endpoint_policies(
    account, period: Period, catalog: resolver.Catalog, today: date
) -> list[EndpointRow]:
    """Each endpoint used in the period with its current policy badges (one query)."""
    endpoints = catalog_endpoints(catalog)
    providers = {endpoint.provider for endpoint in endpoints.values()}
    routes = routes_used(account, period)
    total = sum(route.requests for route in routes)
    rows = []
    for route in routes:
        endpoint = endpoints.get(route.endpoint_id)
        policy = endpoint.policy if endpoint else None
        flags = [] if endpoint else [NOT_IN_CATALOG]
        if not route.known:
            flags.insert(0, FIRST_SEEN_UNKNOWN)
        badges = policy_badges(policy or resolver.Policy(), today)
        share = route.requests / total if total else 0.0
        rows.append(EndpointRow(route, policy, badges, flags, route.provider in providers, share))
    return rows


@dataclass(frozen=True)
class Share:
    requests: int = 0
    tokens: int = 0

    def add(self, route: RouteUsage) -> "Share":
        return Share(self.requests + route.requests, self.tokens + route.tokens)


@dataclass(frozen=True)
class ChangedPolicy:
    route: RouteUsage
    changed_at: datetime  # the latest approval that changed the endpoint's policy
    changes: list[FieldChange]  # then → now, for the first differing state


@dataclass(frozen=True)
class Posture:
    total: Share
    zero_retention: Share
    no_training: Share
    unknown: Share
    changed: list[ChangedPolicy] = field(default_factory=list)


def privacy_posture(account, period: Period, catalog: resolver.Catalog) -> Posture:
    """Shares of the period's traffic by current policy, and the endpoints that served it under
    a policy that has changed since (two queries).

    Unknown counts as the worst case: a route the catalog lacked, or lacks now, and a policy
    whose training or retention is unknown are "unknown policy", never zero retention.
    """
    endpoints = catalog_endpoints(catalog)
    routes = routes_used(account, period)
    total = zero = no_training = unknown = Share()
    for route in routes:
        endpoint = endpoints.get(route.endpoint_id) if route.known else None
        policy = endpoint.policy if endpoint else resolver.Policy()
        total = total.add(route)
        if policy.retention == Retention.ZERO:
            zero = zero.add(route)
        if policy.training == Training.NO:
            no_training = no_training.add(route)
        unknown_terms = policy.training == Training.UNKNOWN or policy.retention == Retention.UNKNOWN
        if endpoint is None or unknown_terms:
            unknown = unknown.add(route)
    listed = [route for route in routes if route.endpoint_id in endpoints]
    return Posture(total, zero, no_training, unknown, changed_policies(listed, period))


def changed_policies(routes: list[RouteUsage], period: Period) -> list[ChangedPolicy]:
    """The routes whose merged policy, at some moment they served traffic in the period, differs
    from their policy now (one query).

    An approved version is in effect from `decided_at` until `superseded_at`, so the versions
    of a route's provider default and endpoint override give its policy at any moment. The
    states checked are the one at the route's first traffic and each one approved after it,
    within the period. The rollups only say in which hour (or day) traffic came, so a change
    approved during that hour counts as changed: the traffic may have come before it.
    """
    if not routes:
        return []
    earliest = min(route.first for route in routes)
    versions = (
        PolicyVersion.objects.approved()
        .filter(provider__slug__in={route.provider for route in routes})
        .exclude(superseded_at__lte=earliest)
        .select_related("provider", "endpoint__model")
    )
    by_subject = defaultdict(list)
    for version in versions:
        model = version.endpoint.model.slug if version.endpoint_id else None
        by_subject[(version.provider.slug, model)].append(version)
    changed = []
    for route in routes:
        subject = by_subject[(route.provider, None)], by_subject[(route.provider, route.model)]
        if found := _changed(route, *subject, period.end):
            changed.append(found)
    return changed


def _changed(route: RouteUsage, defaults, overrides, until: datetime) -> ChangedPolicy | None:
    later = [v.decided_at for v in (*defaults, *overrides) if v.decided_at > route.first]
    if not later:
        return None
    now = _policy_at(defaults, overrides, None) or resolver.Policy()
    moments = [route.first, *sorted(moment for moment in later if moment < until)]
    for moment in moments:
        then = _policy_at(defaults, overrides, moment)
        if then is not None and (changes := _differences(then, now)):
            return ChangedPolicy(route, max(later), changes)
    return None


def _in_effect(versions, moment: datetime | None):
    """The version in effect at `moment`, or the current one when `moment` is None."""
    for version in versions:
        ends = version.superseded_at
        if moment is None:
            if ends is None:
                return version
        elif version.decided_at <= moment and (ends is None or ends > moment):
            return version
    return None


def _policy_at(defaults, overrides, moment) -> resolver.Policy | None:
    """The merged policy at `moment`; None before the catalog recorded any for the endpoint
    (traffic then was not served under a policy that changed: there was none to change)."""
    default, override = _in_effect(defaults, moment), _in_effect(overrides, moment)
    if default is None and override is None:
        return None
    return to_policy(default, override, "")


def _differences(then: resolver.Policy, now: resolver.Policy) -> list[FieldChange]:
    before, after = then.as_dict(), now.as_dict()
    return [
        FieldChange(name, before[name], after[name])
        for name in COMPARED_FIELDS
        if before[name] != after[name]
    ]


# --- Staff overview and export ------------------------------------------------------------------


@dataclass(frozen=True)
class AccountTotals:
    slug: str
    name: str
    totals: Totals
    previous_requests: int


def all_accounts(period: Period) -> list[AccountTotals]:
    """Every account with traffic in the period or the one before, busiest first (one query)."""
    parts = [
        rows.values("account__slug", "account__name")
        .annotate(**_sums("now_", is_current), before=_sum("requests", ~is_current))
        .order_by()
        for rows, is_current in _compared_rollups(period)
    ]
    merged: dict[tuple[str, str], list] = defaultdict(lambda: [Totals(), 0])
    for row in _union(parts):
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
    rows, column = _rollup(period)
    group = _GROUP_COLUMNS[period.grouping][0]
    found = (
        rows.filter(account=account)
        .values(column, group)
        .annotate(**_sums())
        .order_by(column, group)
    )
    for row in found.iterator(chunk_size=2000):
        totals = Totals.of(row)
        average = totals.avg_latency_ms
        yield [
            _point(row[column]).isoformat(),
            row[group] or "",
            *(getattr(totals, name) for name in COUNTERS[:6]),
            f"{totals.cost_usd:.9f}",
            "" if average is None else f"{average:.1f}",
        ]
