"""Anonymous model rankings: each day's tokens per model, across all accounts.

k-anonymity: a model is ranked on a day only when at least USAGE_RANKING_MIN_ACCOUNTS distinct
accounts used it that day, so no published number is one customer's traffic. The rows carry no
account column, which is also why deleting an account's usage leaves them as they are.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from usage.models import DailyUsage, ModelRanking

# Gateways report in batches, so a day's last events arrive a little after midnight; a day is
# ranked once this much of the next day has passed (beat runs the job hourly).
SETTLE = timedelta(hours=1)
TOP = 20


def rank_day(day: date) -> int:
    """Replace the day's rankings with what its daily rollups say now; the number of models."""
    rows = list(
        DailyUsage.objects.filter(day=day)
        .values(model=F("route__model"))
        .annotate(
            accounts=Count("account", distinct=True),
            requests_sum=Sum("requests"),
            tokens_sum=Sum(F("tokens_prompt") + F("tokens_completion")),
        )
        .filter(accounts__gte=settings.USAGE_RANKING_MIN_ACCOUNTS)
        .values_list("model", "requests_sum", "tokens_sum")
    )
    rankings = [ModelRanking(day=day, model=m, requests=r, tokens=t) for m, r, t in rows]
    with transaction.atomic():
        ModelRanking.objects.filter(day=day).exclude(model__in=[r.model for r in rankings]).delete()
        # An upsert, not delete-then-insert, so two runs racing on one day cannot collide.
        ModelRanking.objects.bulk_create(
            rankings,
            update_conflicts=True,
            unique_fields=["day", "model"],
            update_fields=["requests", "tokens"],
        )
    return len(rankings)


def pending_days(now: datetime | None = None) -> list[date]:
    """Finished days within raw retention that have usage and no rankings yet.

    A day where no model reached k accounts has no rows, so it stays pending and is looked at
    again each hour until it leaves the window: one grouped query per such day, bounded.
    """
    last = _last_finished_day(now or timezone.now())
    first = last - timedelta(days=settings.USAGE_RAW_RETENTION_DAYS - 1)
    ranked = ModelRanking.objects.filter(day__range=(first, last)).values("day")
    used = DailyUsage.objects.filter(day__range=(first, last)).exclude(day__in=ranked)
    return sorted(used.values_list("day", flat=True).distinct())


def _last_finished_day(now: datetime) -> date:
    return (now.astimezone(UTC) - SETTLE).date() - timedelta(days=1)


def rank_pending_days(now: datetime | None = None) -> dict[date, int]:
    return {day: rank_day(day) for day in pending_days(now)}


@dataclass(frozen=True, slots=True)
class Ranked:
    model: str
    requests: int
    tokens: int
    share: float  # of all ranked tokens in the period
    change: float | None  # tokens against the period a week before; None: not ranked then

    @property
    def share_percent(self) -> float:
        return 100 * self.share

    @property
    def change_percent(self) -> float | None:
        return None if self.change is None else 100 * self.change


@dataclass(frozen=True, slots=True)
class Board:
    period: str  # "day" or "week"
    first: date
    last: date
    models: list[Ranked]
    total_tokens: int


PERIODS = {"day": 1, "week": 7}


def board(period: str = "week", limit: int = TOP) -> Board | None:
    """The top models of the latest ranked day, or of the 7 days ending with it; None when
    nothing is ranked yet. Two queries whatever the number of days or models."""
    last = ModelRanking.objects.aggregate(last=Max("day"))["last"]
    if last is None:
        return None
    first = last - timedelta(days=PERIODS[period] - 1)
    before = (first - timedelta(days=7), last - timedelta(days=7))
    rows = (
        ModelRanking.objects.filter(Q(day__range=(first, last)) | Q(day__range=before))
        .values("model")
        .annotate(
            requests_now=Sum("requests", filter=Q(day__gte=first), default=0),
            tokens_now=Sum("tokens", filter=Q(day__gte=first), default=0),
            tokens_before=Sum("tokens", filter=Q(day__lt=first), default=0),
        )
        .filter(requests_now__gt=0)
        .order_by("-tokens_now", "model")
    )
    rows = list(rows)
    total = sum(row["tokens_now"] for row in rows)
    return Board(period, first, last, [_ranked(row, total) for row in rows[:limit]], total)


def _ranked(row: dict, total: int) -> Ranked:
    now, before = row["tokens_now"], row["tokens_before"]
    return Ranked(
        model=row["model"],
        requests=row["requests_now"],
        tokens=now,
        share=now / total if total else 0.0,
        change=(now - before) / before if before else None,
    )
