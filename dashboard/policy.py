"""The gateway decision, free of HTTP: what an account's keys may reach, what some layers leave
eligible, and whom a proposed policy version would affect.

The resolve endpoint (`policy_api.py`), the privacy pages, catalog-change notifications and the
review page's impact report all decide here. The rule itself is the pure resolver
(`catalog.policy.resolver`); the layers come from `privacy.py`. Loading everyone's layers costs a
fixed number of queries however many accounts and keys there are, and accounts that share their
settings are resolved once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from catalog.policy import request as request_mapping
from catalog.policy import resolver
from catalog.policy.compile import Published, compile_catalog, compile_with
from catalog.policy.snapshot import get_both
from dashboard import privacy
from dashboard.models import Account, ApiKey, KeyGuardrail, PrivacyDefaults, ProviderException
from dashboard.privacy import Layers
from usage.recent import requests_by_endpoint

UnknownModel = resolver.UnknownModel


def resolve_for_key(
    key, constraints, model, *, today: date, layer="request"
) -> tuple[resolver.Resolution, Published]:
    """Resolve `model` under the key's account defaults and guardrail (none without a key) and
    `constraints`, with the evidence of the catalog version it resolved against; raises
    UnknownModel. Warm, this makes no query."""
    effective = resolver.merge_cached((*privacy.layers_for_key(key), (layer, constraints)))
    catalog, published = get_both()
    return resolver.resolve_cached(catalog, model, effective, today), published


@dataclass(frozen=True)
class Answer:
    request: request_mapping.MappedRequest
    resolution: resolver.Resolution
    published: Published


def resolve_request(key, body, *, today: date, layers: Layers | None = None) -> Answer:
    """Resolve a whole chat request (JSON bytes, or already-decoded JSON) under the key's layers,
    for the first of its models with an eligible endpoint. Raises request_mapping.RequestError
    naming a malformed field, UnknownModel when the catalog knows none of its models. `layers`
    stand in for the key's (the playground resolves as an account)."""
    catalog, published = get_both()
    parse = request_mapping.decode if isinstance(body, bytes) else request_mapping.convert
    request = parse(body)
    unknown = request_mapping.unknown_provider_fields(body) if request.provider is not None else ()
    mapped = request_mapping.map_request(
        request, catalog.models(), published.provider_named, unknown
    )
    layers = privacy.layers_for_key(key) if layers is None else layers
    return Answer(mapped, request_mapping.resolve_first(catalog, layers, mapped, today), published)


def resolve_every_model(catalog, layers: Layers, today: date) -> resolver.Resolution:
    return resolver.resolve(catalog, resolver.AUTO_MODEL, resolver.merge(layers), today)


def eligible_ids(catalog, layers: Layers, today: date) -> frozenset[str]:
    resolution = resolve_every_model(catalog, layers, today)
    return frozenset(endpoint.id for endpoint in resolution.eligible)


def eligibility_change(before, after, today: date) -> Callable[[Layers], tuple]:
    """(gained, lost) endpoint ids under some layers, from catalog `before` to `after`. Many
    accounts share their settings, so each distinct layers are resolved once."""

    @cache
    def change(layers: Layers) -> tuple[frozenset[str], frozenset[str]]:
        was, now = eligible_ids(before, layers, today), eligible_ids(after, layers, today)
        return now - was, was - now

    return change


# --- Everyone's layers, in a fixed number of queries -------------------------------------------


def _exceptions_by_holder() -> dict[tuple[int, int | None], list[str]]:
    """Active exceptions' providers by (account id, key id or None for account-wide)."""
    excepted: dict[tuple[int, int | None], list[str]] = {}
    for account_id, key_id, provider in ProviderException.objects.active().values_list(
        "account_id", "key_id", "provider"
    ):
        excepted.setdefault((account_id, key_id), []).append(provider)
    return excepted


def _defaults_by_account() -> dict[int, dict]:
    return {d.account_id: d.as_vocabulary() for d in PrivacyDefaults.objects.all()}


def every_account_layers() -> list[tuple[Account, Layers]]:
    """Each account's own layer, as its privacy settings page previews it (three queries). An
    account with no stored defaults has the new-account defaults, as the gateway reads it."""
    defaults, excepted = _defaults_by_account(), _exceptions_by_holder()
    return [
        (
            account,
            privacy.layers(
                defaults.get(account.pk, privacy.NEW_ACCOUNT_DEFAULTS),
                excepted=excepted.get((account.pk, None), []),
            ),
        )
        for account in Account.objects.all()
    ]


def every_key_layers() -> list[tuple[ApiKey, Layers]]:
    """The layers of each active account key, as the gateway reads them (four queries)."""
    keys = ApiKey.objects.active().exclude(kind=ApiKey.Kind.INGEST).select_related("account")
    guardrails = {
        g.key_id: g.as_vocabulary() for g in KeyGuardrail.objects.filter(key__in=keys.values("pk"))
    }
    defaults, excepted = _defaults_by_account(), _exceptions_by_holder()
    return [
        (
            key,
            privacy.layers(
                defaults.get(key.account_id, privacy.NEW_ACCOUNT_DEFAULTS),
                guardrails.get(key.pk, {}),
                excepted=excepted.get((key.account_id, None), [])
                + excepted.get((key.account_id, key.pk), []),
            ),
        )
        for key in keys
    ]


# --- Impact of a proposed version ---------------------------------------------------------------


@dataclass
class Impact:
    subject: str  # "account acme" or "key aa12… of acme"
    gained: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    # Requests of the last 30 days to the endpoints it would lose: what the change would refuse.
    lost_requests: int = 0


@dataclass
class ImpactReport:
    accounts: list[Impact]
    keys: list[Impact]
    accounts_checked: int
    keys_checked: int


def _traffic_of(per: str) -> dict[int, dict[str, int]]:
    by_owner: dict[int, dict[str, int]] = {}
    for (owner, endpoint), requests in requests_by_endpoint(per).items():
        by_owner.setdefault(owner, {})[endpoint] = requests
    return by_owner


def _impacts(subjects, change, traffic: dict[int, dict[str, int]]) -> list[Impact]:
    """(pk, subject, layers) → the Impact of each subject whose eligible endpoints change."""
    impacts = []
    for pk, subject, layers in subjects:
        gained, lost = change(layers)
        if gained or lost:
            requests = sum(traffic.get(pk, {}).get(endpoint, 0) for endpoint in lost)
            impacts.append(Impact(subject, sorted(gained), sorted(lost), requests))
    return impacts


def impact_of(candidate, today: date) -> ImpactReport:
    """Which accounts and keys would gain or lose endpoints if `candidate` were approved."""
    change = eligibility_change(compile_catalog(), compile_with(candidate), today)
    accounts = [(a.pk, f"account {a.slug}", layers) for a, layers in every_account_layers()]
    keys = [
        (k.pk, f"key {k.prefix}… of {k.account.slug}", layers) for k, layers in every_key_layers()
    ]
    return ImpactReport(
        _impacts(accounts, change, _traffic_of("account")),
        _impacts(keys, change, _traffic_of("api_key")),
        len(accounts),
        len(keys),
    )
