"""Telling the members of an account: in the app always, by email unless they muted the kind.

`notify_catalog_change` is what the review flow triggers after an approval: it compares what each
account's defaults allow in the catalog before and after, and tells only the accounts whose set of
eligible endpoints changed.
"""

from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalog.models import Endpoint, PolicyVersion, Provider
from catalog.policy.compile import compile_catalog_at
from dashboard import audit, settings_review
from dashboard.mail import send_plain
from dashboard.models import Account, EmailMute, Notification
from dashboard.policy import eligibility_change, every_account_layers

Kind = Notification.Kind

# Names listed in one notification; the rest are counted.
MAX_LISTED = 20
# A redelivered task must not tell an account twice; longer than any retry schedule.
CLAIM_SECONDS = 7 * 24 * 3600


def notify(account, kind, title, body="", url="") -> list[Notification]:
    """One notification per member of the account, and an email to each who did not mute it."""
    members = get_user_model().objects.filter(memberships__account=account)
    return notify_people(account, members, kind, title, body, url)


def notify_people(account, people, kind, title, body="", url="") -> list[Notification]:
    """Like `notify`, for chosen people (some owners, a privacy reviewer) about the account."""
    people = list(people)
    muted = set(
        EmailMute.objects.filter(user__in=people, kind=kind).values_list("user_id", flat=True)
    )
    notifications = Notification.objects.bulk_create(
        Notification(account=account, user=user, kind=kind, title=title, body=body, url=url)
        for user in people
    )
    recipients = [user.email for user in people if user.pk not in muted and user.email]
    # After commit, so rolled-back work sends nothing; robust, so one bad address is only logged.
    transaction.on_commit(partial(_send_emails, title, body, url, recipients), robust=True)
    return notifications


def _send_emails(title, body, url, recipients) -> None:
    link = f"\n\n{settings.SITE_URL}{url}" if url else ""
    preferences = settings.SITE_URL + reverse("notification_list")
    message = f"{body}{link}\n\nChoose which emails you get: {preferences}\n"
    for email in recipients:
        send_plain(title, message, [email])


def _claim(name: str) -> bool:
    """True for exactly one caller per name, whichever worker or retry asks."""
    return cache.add(f"notified:{name}", 1, timeout=CLAIM_SECONDS)


# --- Catalog changes ---------------------------------------------------------------------------


def notify_catalog_change(before_version: int, after_version: int) -> list[Account]:
    """Tell each account whose defaults allow other endpoints now; returns those accounts."""
    before, after = compile_catalog_at(before_version), compile_catalog_at(after_version)
    change = eligibility_change(before, after, timezone.now().date())
    told = []
    for account, layers in sorted(every_account_layers(), key=lambda pair: pair[0].pk):
        gained, lost = change(layers)
        if (gained or lost) and _claim(f"catalog:{before_version}:{after_version}:{account.pk}"):
            _tell_catalog_change(account, after_version, gained, lost)
            told.append(account)
    for provider in providers_joined(before_version, after_version):
        notify_provider_joined(provider)
    return told


def _tell_catalog_change(account, version, gained, lost) -> None:
    counts = [f"{len(gained)} now allowed"] if gained else []
    counts += [f"{len(lost)} no longer allowed"] if lost else []
    lines = [f"Catalog version {version} changed which endpoints your privacy defaults allow."]
    if gained:
        lines += [f"Now allowed ({_endpoints(gained)}):", *_by_provider(gained)]
    if lost:
        lines += [f"No longer allowed ({_endpoints(lost)}):", *_by_provider(lost)]
    lines.append("What changed, and the providers' own words for it, is in the catalog changelog.")
    notify(
        account,
        Kind.CATALOG_CHANGE,
        f"Catalog change: {' and '.join(counts)}",
        "\n".join(lines),
        _changelog_url(gained | lost),
    )
    settings_review.flag(account, _change_reason(version, gained, lost))


def _change_reason(version, gained, lost) -> str:
    """One line for the settings-review reminder: which endpoints came and went."""
    parts = [
        f"{label} ({_endpoints(ids)}): {'; '.join(line[2:] for line in _by_provider(ids))}"
        for label, ids in (("now allowed", gained), ("no longer allowed", lost))
        if ids
    ]
    return f"Catalog version {version} changed what your settings allow: {'. '.join(parts)}"


def _changelog_url(ids) -> str:
    """The changelog, filtered to the provider when one provider's endpoints changed."""
    providers = {endpoint_id.rpartition("@")[2] for endpoint_id in ids}
    url = reverse("catalog_changelog")
    return f"{url}?provider={providers.pop()}" if len(providers) == 1 else url


def _endpoints(ids) -> str:
    return f"{len(ids)} endpoint{'' if len(ids) == 1 else 's'}"


def _by_provider(ids) -> list[str]:
    """One line per provider naming its models (an endpoint id is `model@provider`): a change is
    usually one provider's policy, so this keeps a long list short."""
    split = (endpoint_id.rpartition("@") for endpoint_id in ids)
    endpoints = sorted((provider, model) for model, _, provider in split)
    models: dict[str, list[str]] = {}
    for provider, model in endpoints[:MAX_LISTED]:
        models.setdefault(provider, []).append(model)
    lines = [f"- {provider}: {', '.join(names)}" for provider, names in models.items()]
    if len(endpoints) > MAX_LISTED:
        lines.append(f"- and {len(endpoints) - MAX_LISTED} more")
    return lines


def providers_joined(before_version: int, after_version: int):
    """Providers whose first approved default policy came between the two versions."""
    defaults = PolicyVersion.objects.approved().filter(endpoint__isnull=True)
    new = defaults.filter(catalog_version__gt=before_version, catalog_version__lte=after_version)
    earlier = defaults.filter(catalog_version__lte=before_version)
    return Provider.objects.filter(pk__in=new.values("provider_id")).exclude(
        pk__in=earlier.values("provider_id")
    )


def notify_provider_joined(provider) -> None:
    default = PolicyVersion.objects.approved().filter(provider=provider, endpoint=None).first()
    given = default.given_fields() if default else {}
    # retention_days only means something next to retention "days", which is listed anyway.
    unknown = [n for n in PolicyVersion.FIELDS if n not in given and n != "retention_days"]
    endpoints = Endpoint.objects.filter(provider=provider).count()
    title = f"New provider: {provider.name}"
    body = _joined_body(provider, endpoints, unknown)
    url = reverse("provider_detail", args=[provider.slug])
    for account in Account.objects.order_by("pk").iterator():
        if _claim(f"provider-joined:{provider.pk}:{account.pk}"):
            notify(account, Kind.PROVIDER_JOINED, title, body, url)
            settings_review.flag(account, f"{title}, with {_endpoints_of(endpoints)}")


def _endpoints_of(count: int) -> str:
    return f"{count} endpoint{'' if count == 1 else 's'}"


def _joined_body(provider, endpoints: int, unknown: list[str]) -> str:
    served = _endpoints_of(endpoints)
    said = (
        f"Its policy does not say: {', '.join(unknown)}. "
        if unknown
        else "Its policy states every field today. "
    )
    return (
        f"{provider.name} ({provider.slug}) joined the catalog with {served}. {said}"
        "Unknown counts as the worst case: it stays excluded under any constraint its unknown "
        "policy can't prove."
    )


# --- The signed-in person's side ---------------------------------------------------------------


def mark_read(notifications) -> int:
    now = timezone.now()
    return notifications.filter(read_at__isnull=True).update(read_at=now, updated=now)


def emailed_kinds(user) -> set[str]:
    muted = EmailMute.objects.filter(user=user).values_list("kind", flat=True)
    return set(Kind.values) - set(muted)


@transaction.atomic
def set_emailed_kinds(user, wanted, *, request=None) -> None:
    """Email `wanted` kinds to the user and mute the rest; audited when something changed."""
    before = sorted(set(Kind.values) - emailed_kinds(user))
    muted = set(Kind.values) - set(wanted)
    EmailMute.objects.filter(user=user).exclude(kind__in=muted).delete()
    for kind in muted:
        EmailMute.objects.get_or_create(user=user, kind=kind)
    if before != sorted(muted):
        audit.record(
            "notifications.email_muted",
            actor=user,
            request=request,
            target=user.email,
            before={"muted": before},
            after={"muted": sorted(muted)},
        )
