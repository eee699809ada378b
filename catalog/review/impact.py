"""Who a proposed policy version would affect: the accounts and keys whose eligible endpoints
would grow or shrink if it were approved."""

from dataclasses import dataclass, field
from datetime import date

from catalog.policy import resolver
from catalog.policy.compile import compile_catalog, compile_with
from dashboard.models import Account, ApiKey
from dashboard.privacy import layers_for_account, layers_for_key
from usage.recent import requests_by_endpoint


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


def _eligible(catalog, layers, today) -> set[str]:
    resolution = resolver.resolve(catalog, resolver.AUTO_MODEL, resolver.merge(layers), today)
    return {endpoint.id for endpoint in resolution.eligible}


def _difference(subject, before, after, layers, today, traffic) -> Impact | None:
    old, new = _eligible(before, layers, today), _eligible(after, layers, today)
    if old == new:
        return None
    lost = sorted(old - new)
    return Impact(
        subject,
        gained=sorted(new - old),
        lost=lost,
        lost_requests=sum(traffic.get(endpoint, 0) for endpoint in lost),
    )


def _traffic_of(per: str) -> dict[int, dict[str, int]]:
    by_owner: dict[int, dict[str, int]] = {}
    for (owner, endpoint), requests in requests_by_endpoint(per).items():
        by_owner.setdefault(owner, {})[endpoint] = requests
    return by_owner


def impact_of(candidate, today: date) -> ImpactReport:
    before, after = compile_catalog(), compile_with(candidate)
    accounts, keys = [], []
    all_accounts = list(Account.objects.all())
    account_traffic, key_traffic = _traffic_of("account"), _traffic_of("api_key")
    for account in all_accounts:
        layers = layers_for_account(account)
        traffic = account_traffic.get(account.pk, {})
        impact = _difference(f"account {account.slug}", before, after, layers, today, traffic)
        if impact:
            accounts.append(impact)
    active_keys = list(
        ApiKey.objects.active().exclude(kind=ApiKey.Kind.INGEST).select_related("account")
    )
    for key in active_keys:
        subject, traffic = f"key {key.prefix}… of {key.account.slug}", key_traffic.get(key.pk, {})
        impact = _difference(subject, before, after, layers_for_key(key), today, traffic)
        if impact:
            keys.append(impact)
    return ImpactReport(accounts, keys, len(all_accounts), len(active_keys))
