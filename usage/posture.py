"""Which policies the account's traffic went to: each endpoint used with its policy badges,
the shares of traffic by policy (the privacy posture), and the endpoints whose policy changed
since they served it."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Min

from catalog.models import PolicyVersion
from catalog.policy import resolver
from catalog.policy.badges import Badge, policy_badges
from catalog.policy.compile import to_policy
from catalog.policy.vocabulary import Retention, Training
from catalog.review.history import FieldChange
from usage.models import rollup_for, summed
from usage.periods import Period, point_of

# Compared to tell whether an endpoint's policy changed; the review date and headquarters
# are not data-policy terms.
COMPARED_FIELDS = PolicyVersion.FIELDS


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
    table = rollup_for(period)
    found = (
        table.objects.for_account(account)
        .in_period(period)
        .values("route__model", "route__provider", "route__known")
        .annotate(requests=summed("requests"), prompt=summed("tokens_prompt"))
        .annotate(completion=summed("tokens_completion"), first=Min(table.PERIOD))
        .order_by()
    )
    routes = [
        RouteUsage(
            row["route__model"],
            row["route__provider"],
            row["route__known"],
            row["requests"],
            row["prompt"] + row["completion"],
            point_of(row["first"]),
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
    routes: list[RouteUsage] = field(default_factory=list)  # busiest first


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
    return Posture(total, zero, no_training, unknown, changed_policies(listed, period), routes)


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
    """The version in effect at `moment`, or the current one when `moment` is None: the rule
    of `compile.versions_in_effect`, applied to versions already read (one query in all)."""
    for version in versions:
        if version.is_current if moment is None else version.in_effect(moment):
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
