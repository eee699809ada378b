"""The activity dashboard: a page whose cards each load their own figures with htmx, the CSV of
the current view, and the staff overview of every account."""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django_htmx.http import push_url

from catalog.policy import resolver
from catalog.policy.snapshot import get_catalog
from core.access import account_member, staff_only
from core.csv_export import streamed_csv
from core.text import shown
from dashboard import privacy
from usage import activity, periods
from usage import posture as usage_posture
from usage.activity import Totals
from usage.periods import Period

TEMPLATE = "usage/activity_dashboard.html"


def _period(request) -> Period:
    return periods.parse_period(request.GET, timezone.now())


# --- Presentation of figures --------------------------------------------------------------------


def count(n: int) -> str:
    """Short enough for a tile at phone width; the exact figure goes in a title."""
    for threshold, size, suffix in ((10**9, 10**9, "B"), (10**6, 10**6, "M"), (10**4, 10**3, "k")):
        if n >= threshold:
            return f"{n / size:.1f}".removesuffix(".0") + suffix
    return f"{n:,}"


def usd(value) -> str:
    if value == 0:
        return "$0.00"
    if value < 0.0001:
        return "< $0.0001"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def percent(rate: float | None) -> str:
    if rate is None:
        return "–"
    if rate == 0:
        return "0%"
    return f"{rate * 100:.1f}%" if rate < 0.1 else f"{rate * 100:.0f}%"


@dataclass(frozen=True)
class Change:
    text: str
    tone: str  # good, bad or neutral: what the change means for the account


def change(now, before, *, worse_when_higher: bool | None = None, points: bool = False):
    """The change from the previous period: relative, or in percentage points for rates."""
    if now is None or before is None or (before == 0 and not points):
        return Change("new" if now and not before else "no earlier data", "neutral")
    delta = (now - before) * 100 if points else (now - before) / before * 100
    if abs(delta) < 0.05:
        return Change("no change", "neutral")
    tone = "neutral"
    if worse_when_higher is not None:
        tone = "bad" if (delta > 0) == worse_when_higher else "good"
    return Change(f"{delta:+.1f}{' pts' if points else '%'}", tone)


def _tick(point, period: Period) -> str:
    if period.hourly:
        return f"{point:%b} {point.day} {point:%H}:00"
    return f"{point:%b} {point.day}"


def _chart(period: Period, points, datasets, *, kind="bar", unit="count", stacked=False):
    """What static/js/activity.js needs to draw a chart (sent as JSON, never as script)."""
    return {
        "type": kind,
        "unit": unit,
        "stacked": stacked,
        "labels": [_tick(point, period) for point in points],
        "datasets": [{"label": name, "data": data, "tone": tone} for name, tone, data in datasets],
    }


# --- Cards --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    detail: str  # the exact figure, or what the value means
    change: Change


def _summary(request, period):
    figures = activity.summary(request.account, period)
    now, before = figures.current, figures.previous

    def versus(name, **how):
        return change(getattr(now, name), getattr(before, name), **how)

    p95 = figures.latency[0.95]
    slower = change(p95, figures.previous_latency[0.95], worse_when_higher=True)
    tiles = [
        Tile("Requests", count(now.requests), f"{now.requests:,} requests", versus("requests")),
        Tile("Tokens", count(now.tokens), f"{now.tokens:,} tokens", versus("tokens")),
        Tile("Cost", usd(now.cost_usd), f"{now.cost_usd:f} USD", versus("cost_nanos")),
        Tile(
            "Error rate",
            percent(now.error_rate),
            f"{now.failures:,} requests failed",
            versus("error_rate", worse_when_higher=True, points=True),
        ),
        Tile("p95 latency", ms(p95), "95% of requests were at least this fast", slower),
    ]
    return {"tiles": tiles, "totals": now, "previous": period.previous()}


def _series(request, period):
    series = activity.usage_series(request.account, period)
    return series, Totals.total(series.totals)


NO_REQUESTS = "No requests in this period."


def _requests(request, period):
    series, total = _series(request, period)
    ok = [t.requests - t.failures for t in series.totals]
    failed = [t.failures for t in series.totals]
    data = [("Succeeded", "accent", ok), ("Failed", "bad", failed)]
    return {
        "chart": _chart(period, series.points, data, stacked=True),
        "figure": f"{total.requests:,} requests",
        "empty": NO_REQUESTS if not total.requests else "",
    }


def _tokens(request, period):
    series, total = _series(request, period)
    data = [
        ("Prompt", "accent", [t.tokens_prompt for t in series.totals]),
        ("Completion", "good", [t.tokens_completion for t in series.totals]),
    ]
    return {
        "chart": _chart(period, series.points, data, stacked=True),
        "figure": f"{total.tokens:,} tokens",
        "empty": NO_REQUESTS if not total.requests else "",
    }


def _cost(request, period):
    series, total = _series(request, period)
    data = [("Cost (USD)", "accent", [float(t.cost_usd) for t in series.totals])]
    empty = NO_REQUESTS if not total.requests else ""
    if total.requests and not total.cost_nanos:
        empty = "The gateway reported no cost for this period's requests."
    return {
        "chart": _chart(period, series.points, data, unit="usd"),
        "figure": f"{usd(total.cost_usd)} in total",
        "empty": empty,
    }


def _errors(request, period):
    series, total = _series(request, period)

    def rate(name):
        return [getattr(t, name) / t.requests if t.requests else None for t in series.totals]

    data = [("Errors", "bad", rate("errors")), ("Timeouts", "warn", rate("timeouts"))]
    data.append(("Rejected", "muted", rate("rejections")))
    return {
        "chart": _chart(period, series.points, data, unit="percent", stacked=True),
        "figure": f"{percent(total.error_rate)} of requests failed",
        "empty": NO_REQUESTS if not total.requests else "",
    }


def _latency(request, period):
    series = activity.latency_series(request.account, period)
    tones = {0.5: "good", 0.95: "accent", 0.99: "bad"}
    data = [(f"p{q * 100:g}", tones[q], values) for q, values in series.percentiles.items()]
    overall = series.overall
    figure = f"p50 {ms(overall[0.5])} · p95 {ms(overall[0.95])} · p99 {ms(overall[0.99])}"
    chart = _chart(period, series.points, data, kind="line", unit="ms")
    return {"chart": chart, "figure": figure, "empty": NO_REQUESTS if overall[0.5] is None else ""}


def _figures(totals: Totals) -> dict:
    return {
        "requests": f"{totals.requests:,}",
        "tokens": f"{totals.tokens:,}",
        "cost": usd(totals.cost_usd),
        "error_rate": percent(totals.error_rate),
        "latency": ms(totals.avg_latency_ms),
    }


def _breakdown(request, period):
    rows = [
        (row, _figures(row.totals), percent(row.share))
        for row in activity.breakdown(request.account, period)
    ]
    return {
        "rows": rows,
        "grouping_label": periods.GROUPINGS[period.grouping],
        "groupings": periods.GROUPINGS,
    }


def _policies(request, period):
    today = timezone.now().date()
    rows = usage_posture.endpoint_policies(request.account, period, get_catalog(), today)
    return {"rows": rows}


def _shown(value) -> str:
    return shown(value, "not set").replace("_", " ")


def _posture(request, period):
    posture = usage_posture.privacy_posture(request.account, period, get_catalog())
    total = posture.total

    def share(label, part, tone):
        by_requests = part.requests / total.requests if total.requests else 0
        by_tokens = part.tokens / total.tokens if total.tokens else 0
        return {
            "label": label,
            "tone": tone,
            "value": by_requests,
            "requests": percent(by_requests),
            "tokens": percent(by_tokens),
        }

    shares = [
        share("Zero retention", posture.zero_retention, "good"),
        share("No training", posture.no_training, "good"),
        share("Unknown policy", posture.unknown, "warn"),
    ]
    changed = [
        (item, [(_shown(c.field), _shown(c.before), _shown(c.after)) for c in item.changes])
        for item in posture.changed
    ]
    return {
        "posture": posture,
        "shares": shares,
        "changed": changed,
        "settings_changes": privacy.settings_changes(request.account, period.start, period.end),
        "now_excluded": _now_excluded(request.account, posture),
    }


def _now_excluded(account, posture) -> list:
    """Routes that served the period but that the account's current defaults exclude: traffic
    sent before a settings change, or under an exception since ended."""
    effective = resolver.merge(privacy.saved_account_layers(account))
    today = timezone.now().date()
    allowed = {
        e.id
        for e in resolver.resolve(get_catalog(), resolver.AUTO_MODEL, effective, today).eligible
    }
    return [route for route in posture.routes if route.endpoint_id not in allowed]


@dataclass(frozen=True)
class Card:
    title: str
    partial: str
    build: Callable
    wide: bool = False


CARDS = {
    "summary": Card("Summary", "summary", _summary, wide=True),
    "requests": Card("Requests", "chart", _requests),
    "tokens": Card("Tokens", "chart", _tokens),
    "cost": Card("Cost", "chart", _cost),
    "latency": Card("Latency", "chart", _latency),
    "errors": Card("Error rate", "chart", _errors),
    "posture": Card("Privacy posture", "posture", _posture),
    "breakdown": Card("Breakdown", "breakdown", _breakdown, wide=True),
    "policies": Card("Endpoints and their policies", "policies", _policies, wide=True),
}


# --- Views --------------------------------------------------------------------------------------


@account_member
def activity_dashboard(request):
    period = _period(request)
    context = {
        "period": period,
        "cards": CARDS,
        "has_usage": activity.has_usage(request.account),
        "ranges": periods.RANGES,
        "groupings": periods.GROUPINGS,
    }
    if not request.htmx:
        return render(request, TEMPLATE, context)
    response = render(request, f"{TEMPLATE}#activity", context)
    return push_url(response, "?" + urlencode(period.params))


@account_member
def activity_card(request, card):
    if card not in CARDS:
        raise Http404("No such card")
    period = _period(request)
    spec = CARDS[card]
    context = {"period": period, "slug": card, "card": spec, "chart_id": f"chart-data-{card}"}
    context |= spec.build(request, period)
    return render(request, f"{TEMPLATE}#{spec.partial}", context)


@account_member
def activity_export(request):
    period = _period(request)
    rows = activity.export_rows(request.account, period)
    filename = f"activity-{request.account.slug}-{period.start:%Y%m%d}-{period.last_day:%Y%m%d}"
    return streamed_csv(f"{filename}.csv", activity.export_columns(period), rows)


@staff_only
def staff_overview(request):
    period = _period(request)
    accounts = activity.all_accounts(period)
    context = {
        "period": period,
        "ranges": periods.RANGES,
        "rows": [(row, _figures(row.totals)) for row in accounts],
        "total": _figures(Totals.total(row.totals for row in accounts)),
        "previous_total": sum(row.previous_requests for row in accounts),
    }
    return render(request, "usage/staff_overview.html", context)
