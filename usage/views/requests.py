"""The request log page: one row per raw usage event still kept, with the endpoint's badges."""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from catalog.policy import resolver
from catalog.policy.badges import policy_badges
from catalog.policy.snapshot import get_catalog
from core.access import account_member
from usage import request_log
from usage.models import Status
from usage.posture import NOT_IN_CATALOG
from usage.views.activity import ms, usd


def _badges(rows, catalog, today) -> dict[str, list]:
    """Each endpoint's current badges, computed once per endpoint on the page."""
    endpoints = {e.id: e for e in catalog.endpoints_for(resolver.AUTO_MODEL)}
    badges = {}
    for row in rows:
        if row.endpoint_id not in badges:
            endpoint = endpoints.get(row.endpoint_id)
            badges[row.endpoint_id] = (
                policy_badges(endpoint.policy, today) if endpoint else [NOT_IN_CATALOG]
            )
    return badges


@account_member
def request_log_page(request):
    filters = request_log.Filters.from_params(request.GET)
    after = request_log.Cursor.decode(request.GET.get("after", ""))
    rows, next_cursor = request_log.page(request.account, filters, after)
    catalog = get_catalog()
    badges = _badges(rows, catalog, timezone.now().date())
    params = filters.as_params()
    context = {
        "rows": [
            (
                row,
                badges[row.endpoint_id],
                usd(row.cost_usd) if row.cost_usd is not None else "–",
                ms(row.latency_ms),
            )
            for row in rows
        ],
        "filters": filters,
        "keys": request.account.api_keys.order_by("name").values_list("prefix", "name"),
        "statuses": Status.labels,
        "models": sorted(catalog.models()),
        "providers": sorted({e.provider for e in catalog.endpoints_for(resolver.AUTO_MODEL)}),
        "next_query": urlencode({**params, "after": next_cursor.encode()}) if next_cursor else "",
        "first_query": urlencode(params),
        "paged": after is not None,
        "retention_days": settings.USAGE_RAW_RETENTION_DAYS,
    }
    return render(request, "usage/request_log.html", context)
