"""The account's and the key's layers of the effective policy (PRODUCT.md §2, "Layering").

An account's defaults are the first layer of every resolution for its keys, a key's guardrail
the second, and active time-boxed exceptions re-admit one provider each to the provider lists.
The gateway reads these on every request, so they are cached per account and per key and the
cache entry is dropped whenever one of them changes.
"""

from dataclasses import replace
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.policy import resolver
from catalog.policy.vocabulary import Classification
from core.hotcache import built_from, forget, two_level
from dashboard import audit, settings_review
from dashboard.audit import changed_fields
from dashboard.models import AuditEvent, KeyGuardrail, PrivacyDefaults, ProviderException

# A new account may not send data to providers that train on it or keep it past 30 days: the
# `internal` class of the seed. With the shipped catalog that still leaves most models.
NEW_ACCOUNT_DEFAULTS = {"classification": Classification.INTERNAL.value}
CACHE_SECONDS = 300
# (name, constraints) from the outermost layer in, as `resolver.merge` takes them.
Layers = tuple[tuple[str, resolver.Constraints], ...]


def defaults_for(account) -> PrivacyDefaults:
    defaults, _ = PrivacyDefaults.objects.get_or_create(
        account=account, defaults=NEW_ACCOUNT_DEFAULTS
    )
    return defaults


def guardrail_for(key) -> KeyGuardrail | None:
    return KeyGuardrail.objects.filter(key=key).first()


def constraints_from(vocabulary: dict | None) -> resolver.Constraints:
    if not vocabulary:
        return resolver.Constraints()
    only = vocabulary.get("only")
    return resolver.Constraints(
        training_allowed=vocabulary.get("training_allowed"),
        retention_days=vocabulary.get("retention_days"),
        require=frozenset(vocabulary.get("require") or ()),
        exclude=frozenset(vocabulary.get("exclude") or ()),
        only=None if only is None else frozenset(only),
        classification=vocabulary.get("classification"),
        regulated_certifications=frozenset(vocabulary.get("regulated_certifications") or ()),
        stale_as_unknown=bool(vocabulary.get("stale_as_unknown")),
    )


def with_exceptions(constraints: resolver.Constraints, providers) -> resolver.Constraints:
    """Re-admit excepted providers to this layer's provider lists, and nothing else."""
    if not providers:
        return constraints
    only = constraints.only
    return replace(
        constraints,
        exclude=constraints.exclude - set(providers),
        only=None if only is None else only | set(providers),
    )


def layers(defaults: dict, guardrail: dict | None = None, *, excepted=()) -> Layers:
    """The resolver's layers from the account's defaults and, for a key, its guardrail (`{}` when
    it has none; None: the account alone), with `excepted` providers re-admitted to both."""
    account = [("account", with_exceptions(constraints_from(defaults), excepted))]
    if guardrail is None:
        return tuple(account)
    return (*account, ("key", with_exceptions(constraints_from(guardrail), excepted)))


def _account_cache_key(account_id) -> str:
    return f"privacy:account:{account_id}"


def _key_cache_key(key_id) -> str:
    return f"privacy:key:{key_id}"


def _account_entry(account_id) -> dict:
    defaults = PrivacyDefaults.objects.filter(account_id=account_id).first()
    now = timezone.now()
    exceptions = list(ProviderException.objects.active(now).filter(account_id=account_id))
    return {
        "vocabulary": defaults.as_vocabulary() if defaults else NEW_ACCOUNT_DEFAULTS,
        "exceptions": [(e.key_id, e.provider) for e in exceptions],
        # Cached no longer than the first exception lasts, so expiry is never late.
        "ttl": min([CACHE_SECONDS, *(int((e.until - now).total_seconds()) for e in exceptions)]),
    }


def _key_entry(key_id) -> dict:
    guardrail = KeyGuardrail.objects.filter(key_id=key_id).first()
    return {"vocabulary": guardrail.as_vocabulary() if guardrail else None}


def _cached_entries(key) -> tuple[dict, dict]:
    account = two_level(
        _account_cache_key(key.account_id),
        lambda: _account_entry(key.account_id),
        lambda entry: entry["ttl"],
    )
    guardrail = two_level(_key_cache_key(key.pk), lambda: _key_entry(key.pk), CACHE_SECONDS)
    return account, guardrail


def layers_for_key(key) -> Layers:
    """The gateway's reading: from the cache, so a warm resolve makes no query."""
    if key is None or key.account_id is None:
        return ()
    account, guardrail = _cached_entries(key)
    return built_from(f"layers:{key.pk}", (account, guardrail), partial(_key_layers, key.pk))


def _key_layers(key_id, account: dict, guardrail: dict) -> Layers:
    excepted = [provider for key, provider in account["exceptions"] if key in (None, key_id)]
    return layers(account["vocabulary"], guardrail["vocabulary"] or {}, excepted=excepted)


def layers_for_account(account) -> Layers:
    """The account's own layer, read from the database, as its settings page previews it."""
    return layers(defaults_for(account).as_vocabulary(), excepted=excepted_providers(account))


def excepted_providers(account, key=None) -> list[str]:
    """Providers re-admitted by active exceptions: account-wide ones, and the key's own."""
    scope = Q(key__isnull=True) | Q(key=key) if key else Q(key__isnull=True)
    exceptions = ProviderException.objects.active().filter(scope, account=account)
    return list(exceptions.values_list("provider", flat=True))


def saved_account_layers(account) -> Layers:
    """The account layer as stored, without creating defaults (read-only pages): two queries."""
    entry = _account_entry(account.pk)
    excepted = [provider for key_id, provider in entry["exceptions"] if key_id is None]
    return layers(entry["vocabulary"], excepted=excepted)


def forget_account(account_id) -> None:
    forget(_account_cache_key(account_id))


def forget_key(key_id) -> None:
    forget(_key_cache_key(key_id))


# --- Guardrails may only be stricter ------------------------------------------------------------


def looser_fields(account: dict, guardrail: dict) -> list[tuple[str, str]]:
    """(field, message) for each way the guardrail would loosen the account's defaults."""
    problems = []
    if guardrail.get("training_allowed") and account.get("training_allowed") is False:
        problems.append(("training_allowed", "the account does not allow training"))
    limit, wanted = account.get("retention_days"), guardrail.get("retention_days")
    if limit is not None and wanted is not None and wanted > limit:
        problems.append(("retention_days", f"the account allows at most {limit} days"))
    account_only, wanted_only = account.get("only"), guardrail.get("only")
    if account_only is not None and wanted_only is not None:
        extra = sorted(set(wanted_only) - set(account_only))
        if extra:
            problems.append(("only", f"the account does not allow {', '.join(extra)}"))
    if _rank(guardrail) < _rank(account) and guardrail.get("classification"):
        problems.append(
            ("classification", f"the account's classification is {account['classification']}")
        )
    return problems


def _rank(vocabulary: dict) -> int:
    return Classification(vocabulary.get("classification") or Classification.PUBLIC).rank


# --- Changing the layers, audited -------------------------------------------------------------


class GuardrailLooserThanAccount(Exception):
    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        field, message = problems[0]
        super().__init__(f"{field}: a guardrail may only be stricter, and {message}")


def forget_now_and_after_commit(forget, pk) -> None:
    # Now, so this process reads its own write; after commit, in case another process cached
    # the old value in between.
    forget(pk)
    transaction.on_commit(lambda: forget(pk))


def _apply(instance, vocabulary: dict) -> tuple[dict, dict]:
    before = instance.as_vocabulary()
    for name, value in vocabulary.items():
        setattr(instance, name, value)
    instance.save()
    return changed_fields(before, instance.as_vocabulary())


@transaction.atomic
def save_defaults(account, vocabulary: dict, **who) -> PrivacyDefaults:
    defaults = defaults_for(account)
    before, after = _apply(defaults, vocabulary)
    forget_now_and_after_commit(forget_account, account.pk)
    if after:
        audit.record(
            "privacy.defaults_changed",
            account=account,
            target=account.slug,
            before=before,
            after=after,
            **who,
        )
    settings_review.mark_reviewed(account, settings_review.How.SAVED, **who)
    return defaults


@transaction.atomic
def save_guardrail(key, vocabulary: dict, **who) -> KeyGuardrail:
    problems = looser_fields(defaults_for(key.account).as_vocabulary(), vocabulary)
    if problems:
        raise GuardrailLooserThanAccount(problems)
    guardrail, _ = KeyGuardrail.objects.get_or_create(key=key)
    before, after = _apply(guardrail, vocabulary)
    forget_now_and_after_commit(forget_key, key.pk)
    if after:
        audit.record(
            "privacy.guardrail_changed",
            account=key.account,
            target=key.prefix,
            before=before,
            after=after,
            **who,
        )
    return guardrail


# --- What changed when, for pages that show past traffic -----------------------------------------

SETTINGS_ACTIONS = {
    "privacy.defaults_changed": "privacy settings",
    "privacy.guardrail_changed": "guardrail of key {target}",
    "exception.created": "exception added",
    "exception.revoked": "exception revoked",
    "exception.expired": "exception expired",
}


def settings_changes(account, start, end) -> list[tuple]:
    """(when, what) of each change to the account's routing settings in [start, end), oldest
    first (one query): traffic before a change was served under the settings then in force."""
    events = (
        AuditEvent.objects.for_account(account)
        .filter(action__in=SETTINGS_ACTIONS, created__gte=start, created__lt=end)
        .order_by("created")
        .values_list("created", "action", "target")
    )
    return [
        (when, SETTINGS_ACTIONS[action].format(target=target)) for when, action, target in events
    ]
