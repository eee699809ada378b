"""Who a proposed policy version would affect: the accounts and keys whose eligible endpoints
would grow or shrink if it were approved."""

from dataclasses import dataclass, field
from datetime import date

from dashboard.models import Account, ApiKey
from dashboard.privacy import layers_for_account, layers_for_key

from . import resolver
from .compile import compile_catalog, compile_with


@dataclass
class Impact:
    subject: str  # "account acme" or "key aa12… of acme"
    gained: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


@dataclass
class ImpactReport:
    accounts: list[Impact]
    keys: list[Impact]
    accounts_checked: int
    keys_checked: int


def _eligible(catalog, layers, today) -> set[str]:
    resolution = resolver.resolve(catalog, resolver.AUTO_MODEL, resolver.merge(layers), today)
    return {endpoint.id for endpoint in resolution.eligible}


def _difference(subject, before, after, layers, today) -> Impact | None:
    old, new = _eligible(before, layers, today), _eligible(after, layers, today)
    if old == new:
        return None
    return Impact(subject, gained=sorted(new - old), lost=sorted(old - new))


def impact_of(candidate, today: date) -> ImpactReport:
    before, after = compile_catalog(), compile_with(candidate)
    accounts, keys = [], []
    all_accounts = list(Account.objects.all())
    for account in all_accounts:
        impact = _difference(
            f"account {account.slug}", before, after, layers_for_account(account), today
        )
        if impact:
            accounts.append(impact)
    active_keys = list(
        ApiKey.objects.active().exclude(kind=ApiKey.Kind.INGEST).select_related("account")
    )
    for key in active_keys:
        impact = _difference(
            f"key {key.prefix}… of {key.account.slug}", before, after, layers_for_key(key), today
        )
        if impact:
            keys.append(impact)
    return ImpactReport(accounts, keys, len(all_accounts), len(active_keys))
