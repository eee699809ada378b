"""The demo `seed_demo` builds: enough of everything that every page has something true to show.

Two privacy-team reviewers, so a change one proposes the other can approve (four-eyes); the demo
account and four more, so the public rankings (which need USAGE_RANKING_MIN_ACCOUNTS accounts
per model) have rows; a key on the `regulated` class with receipts; an open change in the review
queue and one approved, so the catalog changelog has an entry; notifications. Every synthetic
request goes where its key's settings allow (usage.synthetic), so Activity never contradicts
the privacy settings.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from catalog.models import PolicyChange, PolicyVersion, Provider
from catalog.policy import resolver
from catalog.policy.snapshot import get_catalog
from catalog.review import changes
from dashboard import audit, exceptions, notifications, privacy
from dashboard.apikeys import create_key
from dashboard.models import Account, ApiKey, Membership, Notification, Receipt, Role
from dashboard.receipts import record_receipt
from usage import rankings, synthetic
from usage.account_data import usage_summary

DEMO_ACCOUNT = "demo"
DEMO_OWNER = "owner@demo.anyapi.test"
DEMO_PRIVACY = "privacy@anyapi.test"
DEMO_PRIVACY_SECOND = "privacy2@anyapi.test"
DEMO_USAGE_DAYS = 14
DEMO_USAGE_SEED = 2026
# None: in the shipped catalog no endpoint that proves no training and zero retention also has a
# certification quoted from its provider's own pages, so requiring one would leave nothing.
DEMO_REGULATED_CERTIFICATIONS = ()
REGULATED_KEY = "Regulated workloads"
OTHER_ACCOUNTS = 4  # with the demo account, the rankings' default minimum of 5
RECEIPTS = 12


@dataclass
class Demo:
    account: Account
    owner: object
    reviewers: tuple


def _user(email, password):
    user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
    user.set_password(password)
    user.save()
    return user


def _reviewer(email, password):
    user = _user(email, password)
    user.groups.add(Group.objects.get_or_create(name=settings.PRIVACY_TEAM_GROUP)[0])
    return user


@transaction.atomic
def seed_people(password: str) -> Demo:
    owner = _user(DEMO_OWNER, password)
    reviewers = (_reviewer(DEMO_PRIVACY, password), _reviewer(DEMO_PRIVACY_SECOND, password))
    account, created = Account.objects.get_or_create(
        slug=DEMO_ACCOUNT, defaults={"name": "Demo Inc."}
    )
    Membership.objects.get_or_create(account=account, user=owner, defaults={"role": Role.OWNER})
    if created:
        audit.record(
            "account.created",
            account=account,
            target=account.slug,
            after={"name": account.name, "owner": owner.email},
        )
        _seed_keys(account, owner)
    return Demo(account, owner, reviewers)


def _seed_keys(account, owner) -> None:
    create_key(name="Demo gateway", kind=ApiKey.Kind.INFERENCE, account=account, actor=owner)
    regulated, _ = create_key(
        name=REGULATED_KEY, kind=ApiKey.Kind.INFERENCE, account=account, actor=owner
    )
    vocabulary = {
        **privacy.defaults_for(account).as_vocabulary(),
        "regulated_certifications": list(DEMO_REGULATED_CERTIFICATIONS),
    }
    guardrail = {"classification": "regulated"}
    trial = _trial_provider(vocabulary, guardrail)
    privacy.save_defaults(account, {**vocabulary, "exclude": [trial] if trial else []}, actor=owner)
    privacy.save_guardrail(regulated, guardrail, actor=owner)


def _providers_allowed(*vocabularies) -> set[str]:
    layers = [(str(n), privacy.constraints_from(v)) for n, v in enumerate(vocabularies)]
    resolution = resolver.resolve(
        get_catalog(), resolver.AUTO_MODEL, resolver.merge(layers), timezone.now().date()
    )
    return {endpoint.provider for endpoint in resolution.eligible}


def _trial_provider(account_vocabulary, guardrail) -> str | None:
    """A provider the account's defaults allow but the regulated key would not use anyway: the
    demo excludes it and then tries it for a day with an exception, which therefore changes
    something without taking anything from the regulated key."""
    candidates = _providers_allowed(account_vocabulary) - _providers_allowed(
        account_vocabulary, guardrail
    )
    return max(candidates) if candidates else None


def seed_usage(demo: Demo, events: int) -> int:
    """Synthetic traffic for the demo account and OTHER_ACCOUNTS more, once; rankings too."""
    if events <= 0 or not usage_summary(demo.account).is_empty:
        return 0
    others = [a for a in synthetic.accounts_for(OTHER_ACCOUNTS + 1) if a.pk != demo.account.pk]
    accepted = synthetic.generate(
        [demo.account], days=DEMO_USAGE_DAYS, events=events, seed=DEMO_USAGE_SEED
    ).accepted
    accepted += synthetic.generate(
        others[:OTHER_ACCOUNTS],
        days=DEMO_USAGE_DAYS,
        events=events // 2,
        # The same seed ranks the models' popularity the same way for every account, so that
        # the five share favourites, as a day's rankings need.
        seed=DEMO_USAGE_SEED,
    ).accepted
    rankings.rank_pending_days()
    return accepted


def seed_receipts(demo: Demo) -> int:
    """Receipts of the regulated key's resolutions, for the models it has sent traffic to."""
    key = demo.account.api_keys.active().filter(name=REGULATED_KEY).first()
    if key is None or Receipt.objects.filter(account=demo.account).exists():
        return 0
    effective = resolver.merge(privacy.layers_for_key(key))
    catalog, today = get_catalog(), timezone.now().date()
    allowed = resolver.resolve(catalog, resolver.AUTO_MODEL, effective, today).eligible
    models = sorted({endpoint.model for endpoint in allowed})
    for n in range(RECEIPTS if models else 0):
        record_receipt(key, resolver.resolve(catalog, models[n % len(models)], effective, today))
    return RECEIPTS if models else 0


def seed_review(demo: Demo) -> None:
    """One re-verification approved (the changelog's entry) and one waiting in the queue, each
    proposed by the first reviewer, so the second can finish the four-eyes review."""
    if PolicyChange.objects.exists():
        return
    proposer, approver = demo.reviewers
    providers = list(Provider.objects.filter(policies__status="approved").distinct()[:2])
    for n, provider in enumerate(providers):
        change = _reverification(provider, proposer)
        if n == 0:
            changes.approve(change, approver, "Demo: read the evidence again; it still holds.")


def _reverification(provider, proposer) -> PolicyChange:
    current = PolicyVersion.objects.current().get(provider=provider, endpoint=None)
    review_due = timezone.now().date() + timedelta(days=180)
    return changes.manual_change(
        provider,
        proposer,
        {"review_due": review_due, "verified_at": timezone.now().date()},
        f"Demo: re-read {provider.name}'s published terms ({current.source_url or 'no URL'}); "
        "nothing changed, so the review date moves on.",
    )


def seed_notifications(demo: Demo) -> None:
    """An exception ending within a day (warned about as the beat would) and a pointer to the
    catalog changelog, where customers see what providers changed."""
    if Notification.objects.filter(account=demo.account).exists():
        return
    provider = next(iter(privacy.defaults_for(demo.account).exclude), None)
    if provider:
        exceptions.create_exception(
            demo.account,
            provider=provider,
            until=timezone.now() + timedelta(hours=20),
            reason="Demo: a one-day trial of this provider, approved by the owner.",
        )
        exceptions.warn_expiring()
    notifications.notify(
        demo.account,
        Notification.Kind.CATALOG_CHANGE,
        "Providers change their terms: the catalog changelog lists every approved change",
        "Each change names the endpoints it affects and quotes the provider's own text. Review "
        "your privacy settings when a provider you use changes.",
        reverse("catalog_changelog"),
    )
