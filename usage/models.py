"""Usage metadata: raw events (kept for a short window) and the rollups that outlive them.

Only metadata is modelled here: who (account, key), what (model, provider), how much (tokens,
cost), how fast (latency) and how it ended (status). There is no column that could hold a
prompt or a response, and the ingest schema refuses any field that is not one of these.

Raw events are written only by `usage.ingest` (set-based SQL, no ORM saves); on PostgreSQL
their table is partitioned by day (see migration 0001 and `usage.partitions`).
"""

from datetime import datetime

from django.db import models
from django.db.models import BigIntegerField, Q, Sum
from django.db.models.functions import Cast, Coalesce

from dashboard.models import Account, ApiKey
from usage.periods import Period, Piece


def unenforced_key(to, on_delete, **options):
    """A foreign key that the database does not check, for the usage tables.

    Ingest resolves every account, key and route id itself before writing; a database check
    would cost each of the millions of inserted rows a lookup, and on commit, with the
    constraints deferred, one query per row and key. `on_delete` still applies through the ORM.
    The tables' own indexes start with the account, so no separate index is needed either.
    """
    return models.ForeignKey(
        to, on_delete=on_delete, related_name="+", db_constraint=False, db_index=False, **options
    )


class Status(models.IntegerChoices):
    OK = 0, "ok"
    ERROR = 1, "error"
    TIMEOUT = 2, "timeout"
    REJECTED = 3, "rejected"


class RouteQuerySet(models.QuerySet):
    def flagged(self):
        return self.filter(known=False)


class Route(models.Model):
    """A (model, provider) pair as the gateway reported it.

    `known` is False when the catalog had no such endpoint the first time the pair was seen;
    such routes are listed for the privacy team, and their traffic counts as unknown policy.
    """

    model = models.CharField(max_length=128)
    provider = models.CharField(max_length=64)
    known = models.BooleanField()
    first_seen = models.DateTimeField(auto_now_add=True)

    objects = RouteQuerySet.as_manager()

    class Meta:
        constraints = [
            # Ingest looks routes up by pair and inserts missing ones with ON CONFLICT.
            models.UniqueConstraint(fields=["model", "provider"], name="usage_route_pair_uniq"),
        ]

    def __str__(self):
        return f"{self.model}@{self.provider}"

    @property
    def endpoint_id(self) -> str:
        return f"{self.model}@{self.provider}"


class UsageEvent(models.Model):
    """One request's metadata, as reported by the gateway.

    Identified by (account, timestamp, event id): the partition key must be part of every
    unique index on a partitioned table, and a replayed event carries its original account and
    timestamp. The same key serves export, deletion and rebuild, which read one account's
    events in time order, so the table needs no other index.
    """

    pk = models.CompositePrimaryKey("account", "timestamp", "event_id")
    timestamp = models.DateTimeField()
    event_id = models.UUIDField()
    account = unenforced_key(Account, models.DO_NOTHING)
    api_key = unenforced_key(ApiKey, models.DO_NOTHING, null=True)
    route = unenforced_key(Route, models.DO_NOTHING)
    tokens_prompt = models.IntegerField()
    tokens_completion = models.IntegerField()
    latency_ms = models.IntegerField()
    status = models.SmallIntegerField(choices=Status.choices)
    cost_nanos = models.BigIntegerField(null=True)  # cost_usd × 10⁹: sums stay exact everywhere

    class Meta:
        db_table = "usage_event"

    def __str__(self):
        return f"{self.event_id} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


def summed(name: str, condition: Q | None = None):
    # PostgreSQL sums bigints as numeric; the cast keeps every total an int on every backend.
    return Cast(Coalesce(Sum(name, filter=condition), 0), BigIntegerField())


def any_of(conditions) -> Q:
    found = Q()
    for condition in conditions:
        found |= condition
    return found or Q(pk__in=[])  # no piece: match nothing (Django skips the query part)


GROUP_COLUMNS = {  # what a breakdown by each grouping reads
    "model": ("route__model",),
    "provider": ("route__provider",),
    "key": ("api_key__prefix", "api_key__name"),
}


class RollupQuerySet(models.QuerySet):
    """Reads of one rollup table (hourly or daily): each of `totals`, `series` and `breakdown`
    is one aggregating query whatever the traffic. `rollup_for(period)` picks the table."""

    def for_account(self, account):
        return self.filter(account=account)

    def in_period(self, period: Period):
        """The rows of `period`: its hours, or its days."""
        return self.between(period.start, period.end)

    def between(self, start: datetime, end: datetime):
        return self.filter(self._range(start, end))

    def in_pieces(self, pieces: list[Piece]):
        """The rows of the pieces this table serves: whole days from the daily rollup, the
        hours around them from the hourly one."""
        served = self.model.PERIOD == "day"  # whole days
        return self.filter(any_of(self._range(a, b) for whole, a, b in pieces if whole == served))

    def since(self, moment: datetime) -> Q:
        """The condition telling the rows from `moment` on from those before it."""
        return Q(**{f"{self.model.PERIOD}__gte": self._value(moment)})

    def _range(self, start: datetime, end: datetime) -> Q:
        column = self.model.PERIOD
        return Q(**{f"{column}__gte": self._value(start), f"{column}__lt": self._value(end)})

    def _value(self, moment: datetime):
        return moment.date() if self.model.PERIOD == "day" else moment

    def totals(self, *group_by: str):
        """Every counter summed: one dict, or by `group_by` one row per value (a queryset)."""
        sums = {name: summed(name) for name in COUNTERS}
        if not group_by:
            return self.aggregate(**sums)
        return self.values(*group_by).annotate(**sums).order_by()

    def series(self):
        """Totals per point (hour or day); points without traffic have no row."""
        return self.totals(self.model.PERIOD)

    def breakdown(self, grouping: str):
        """Totals per model, provider or key (GROUP_COLUMNS)."""
        return self.totals(*GROUP_COLUMNS[grouping])


class Counters(models.Model):
    """The additive measures of a set of events; every rollup merges by adding these."""

    requests = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    timeouts = models.IntegerField(default=0)
    rejections = models.IntegerField(default=0)
    tokens_prompt = models.BigIntegerField(default=0)
    tokens_completion = models.BigIntegerField(default=0)
    # A sum of costs, each up to 10⁷ USD in nano-dollars: a bigint would overflow after ~900 of
    # the largest; 38 digits never will. Exact, like every other counter.
    cost_nanos = models.DecimalField(max_digits=38, decimal_places=0, default=0)
    latency_ms_sum = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def tokens(self) -> int:
        return self.tokens_prompt + self.tokens_completion


COUNTERS = tuple(field.name for field in Counters._meta.fields)


def rollup_for(period: Period) -> "type[HourlyUsage | DailyUsage]":
    """The rollup a period reads: hourly rows for hourly points, daily rows beyond."""
    return HourlyUsage if period.hourly else DailyUsage


def _rollup_key(period: str, *extra: str):
    # `api_key` is nullable, and NULLs never conflict in a unique index; COALESCE makes "no key"
    # one value so the ingest upserts (ON CONFLICT on this expression) find the row. Starting
    # with (account, period), the same index serves the activity cards' range scans.
    return ("account", period, Coalesce("api_key", 0), "route", *extra)


class HourlyUsage(Counters):
    """The canonical rollup: one row per account, hour, key and route."""

    PERIOD = "hour"

    account = unenforced_key(Account, models.CASCADE)
    hour = models.DateTimeField()
    api_key = unenforced_key(ApiKey, models.CASCADE, null=True)
    route = unenforced_key(Route, models.PROTECT)

    objects = RollupQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(*_rollup_key("hour"), name="usage_hourly_uniq"),
        ]
        indexes = [
            # The staff overview sums every account's hours of a short range.
            models.Index(fields=["hour"], name="usage_hourly_hour_idx"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.hour:%Y-%m-%d %H}h route {self.route_id}"


class DailyUsage(Counters):
    """The hourly rollup summed by UTC day, kept in the same transaction for long ranges."""

    PERIOD = "day"

    account = unenforced_key(Account, models.CASCADE)
    day = models.DateField()
    api_key = unenforced_key(ApiKey, models.CASCADE, null=True)
    route = unenforced_key(Route, models.PROTECT)

    objects = RollupQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(*_rollup_key("day"), name="usage_daily_uniq"),
        ]
        indexes = [
            # The daily rankings job reads one day across all accounts.
            models.Index(fields=["day"], name="usage_daily_day_idx"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.day} route {self.route_id}"


class AccountLatency(models.Model):
    """An account's whole latency histogram per hour and per day: one row per non-empty
    bucket. The latency chart reads a few hundred of these rows per period."""

    class Span(models.TextChoices):
        HOUR = "h", "hour"
        DAY = "d", "day"

    # The key is the ingest upsert's conflict target and serves the latency chart (one account,
    # one span, a range of starts); no surrogate id to maintain on every insert.
    pk = models.CompositePrimaryKey("account", "span", "start", "bucket")
    account = unenforced_key(Account, models.CASCADE)
    span = models.CharField(max_length=1, choices=Span.choices)
    start = models.DateTimeField()
    bucket = models.SmallIntegerField()
    count = models.IntegerField()

    def __str__(self):
        return f"{self.account_id} {self.span} {self.start:%Y-%m-%d %H}h bucket {self.bucket}"


class ModelRanking(models.Model):
    """Daily model usage across all accounts, with no account column at all.

    A model has a row only when at least USAGE_RANKING_MIN_ACCOUNTS distinct accounts used it
    that day, so no row describes one customer's traffic.
    """

    day = models.DateField()
    model = models.CharField(max_length=128)
    requests = models.BigIntegerField()
    tokens = models.BigIntegerField()

    class Meta:
        constraints = [
            # The daily job replaces a day's rows; the page reads one day or a week by model.
            models.UniqueConstraint(fields=["day", "model"], name="usage_ranking_day_model_uniq"),
        ]

    def __str__(self):
        return f"{self.day} {self.model}: {self.tokens} tokens"
