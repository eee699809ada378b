from django.db.models import Count, Max, Sum
from django.shortcuts import render

from catalog.policy.snapshot import get_catalog
from core.access import privacy_team
from usage.models import DailyUsage, Route


def recheck_flagged(routes: list[Route], catalog) -> list[Route]:
    """Mark known the routes the catalog now has an endpoint for; the ones still unknown."""
    found = [r for r in routes if r.endpoint_id in _endpoint_ids(catalog, r.model)]
    if found:
        Route.objects.filter(pk__in=[r.pk for r in found]).update(known=True)
    return [r for r in routes if r not in found]


def _endpoint_ids(catalog, model: str) -> set[str]:
    if model not in catalog.models():
        return set()
    return {endpoint.id for endpoint in catalog.endpoints_for(model)}


def _traffic(routes: list[Route]) -> dict[int, dict]:
    """Requests, accounts and last day per route, from the daily rollups (which outlive raw
    events)."""
    rows = (
        DailyUsage.objects.filter(route__in=routes)
        .values("route")
        .annotate(
            requests=Sum("requests"),
            accounts=Count("account", distinct=True),
            last_day=Max("day"),
        )
    )
    return {row.pop("route"): row for row in rows}


@privacy_team
def flagged_routes(request):
    flagged = list(Route.objects.flagged().order_by("-first_seen"))
    routes = recheck_flagged(flagged, get_catalog())
    traffic = _traffic(routes)
    rows = [(route, traffic.get(route.pk, {})) for route in routes]
    rows.sort(key=lambda row: row[1].get("requests", 0), reverse=True)  # stable: newest next
    context = {"rows": rows, "cleared": len(flagged) - len(routes)}
    return render(request, "usage/flagged_routes.html", context)
