"""What an account's traffic used lately, for pages outside the usage app (privacy settings)."""

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from usage.models import DailyUsage

RECENT_DAYS = 30


def requests_by_model(account, api_key=None, days: int = RECENT_DAYS) -> dict[str, int]:
    """Requests per model in the last `days` days: of the account, or of one of its keys."""
    since = timezone.now().date() - timedelta(days=days)
    rows = DailyUsage.objects.filter(account=account, day__gte=since)
    if api_key is not None:
        rows = rows.filter(api_key=api_key)
    totals = rows.values("route__model").annotate(requests=Sum("requests"))
    return {row["route__model"]: row["requests"] for row in totals}


def requests_by_endpoint(per: str, days: int = RECENT_DAYS) -> dict[tuple[int, str], int]:
    """Requests in the last `days` days per (account id or key id, endpoint id), for all
    accounts: `per` is "account" or "api_key". One query."""
    since = timezone.now().date() - timedelta(days=days)
    rows = (
        DailyUsage.objects.filter(day__gte=since, **{f"{per}__isnull": False})
        .values(per, "route__model", "route__provider")
        .annotate(requests=Sum("requests"))
    )
    return {
        (row[per], f"{row['route__model']}@{row['route__provider']}"): row["requests"]
        for row in rows
    }
