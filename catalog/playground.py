"""The playground: build a gateway request from form controls or pasted JSON and resolve it
exactly as the API would, showing the reasoning."""

import json

from django.utils import timezone

from catalog.policy import resolver
from catalog.policy.badges import policy_badges
from catalog.policy.explain import blocking_constraints, unknown_model
from catalog.policy.request import RequestError
from catalog.policy.snapshot import get_catalog
from catalog.policy.vocabulary import FLAG_TAGS, Classification, values
from core.text import int_or_text, split_list
from dashboard import privacy
from dashboard.models import Account, ApiKey, Membership
from dashboard.policy import UnknownModel, resolve_request

EXAMPLE = {
    "model": "anyapi/auto",
    "providers": {"require": ["zero-retention", "no-training"], "exclude": ["deepseek"]},
    "messages": [{"role": "user", "content": "(ignored: never stored)"}],
}


def request_from_form(data) -> dict:
    """The JSON request the form controls describe."""
    body = {"model": data.get("model") or resolver.AUTO_MODEL}
    if data.get("classification"):
        body["classification"] = data["classification"]
    data_policy = {}
    if data.get("block_training"):
        data_policy["training_allowed"] = False
    if data.get("retention_days", "").strip():
        data_policy["retention_days"] = int_or_text(data["retention_days"])
    if data_policy:
        body["data_policy"] = data_policy
    providers = {
        "require": data.getlist("require") + split_list(data.get("extra_tags", "")),
        "exclude": split_list(data.get("exclude", "")),
        "order": split_list(data.get("order", "")),
    }
    if data.get("only", "").strip():
        providers["only"] = split_list(data["only"])
    body["providers"] = {k: v for k, v in providers.items() if v}
    return body


def _parse(request) -> tuple[dict | None, list[str]]:
    pasted = request.POST.get("json", "").strip()
    if not pasted:
        return request_from_form(request.POST), []
    try:
        body = json.loads(pasted)
    except json.JSONDecodeError as exc:
        return None, [f"The pasted request is not JSON: {exc.msg} (line {exc.lineno})."]
    return (body, []) if isinstance(body, dict) else (None, ["The request must be a JSON object."])


def _identities(user) -> list[tuple[str, str]]:
    """(value, label) of each account and active key the user may resolve as: only their own
    accounts' (tenant isolation), keys of kinds that resolve."""
    choices = [("", "No account: the request alone")]
    memberships = Membership.objects.filter(user=user).select_related("account")
    accounts = {m.account_id: m.account for m in memberships}
    keys = (
        ApiKey.objects.active()
        .filter(account_id__in=accounts, kind__in=[ApiKey.Kind.INFERENCE, ApiKey.Kind.MANAGEMENT])
        .order_by("account_id", "name")
    )
    by_account: dict[int, list] = {}
    for key in keys:
        by_account.setdefault(key.account_id, []).append(key)
    for account_id, account in sorted(accounts.items(), key=lambda item: item[1].name):
        choices.append((f"account:{account.slug}", f"{account.name}: its privacy settings"))
        for key in by_account.get(account_id, []):
            choices.append((f"key:{key.prefix}", f"{account.name}: key {key.name} ({key.prefix}…)"))
    return choices


def _layers_as(identity: str, user) -> tuple[list, str | None]:
    """The account (and key) layers to resolve under, with the error if the choice is not one
    of the user's own."""
    if not identity:
        return [], None
    kind, _, name = identity.partition(":")
    if kind == "account":
        account = _own_accounts(user).filter(slug=name).first()
        return (privacy.saved_account_layers(account), None) if account else ([], _NOT_YOURS)
    key = ApiKey.objects.active().filter(prefix=name, account__in=_own_accounts(user)).first()
    return (privacy.layers_for_key(key), None) if key else ([], _NOT_YOURS)


_NOT_YOURS = "You can resolve only as your own accounts and their active keys."


def _own_accounts(user):
    return Account.objects.for_user(user)


def constraint_value(constraint: str, effective: resolver.EffectivePolicy) -> str:
    """What a constraint of the effective policy says, in words."""
    kind, _, item = constraint.partition(":")
    if constraint == "training_allowed":
        return "allowed" if effective.training_allowed else "blocked: no provider that may train"
    if constraint == "retention_days":
        days = effective.retention_days
        return "zero retention" if days == 0 else f"at most {days} day{'s' * (days != 1)}"
    if constraint == "only":
        return ", ".join(sorted(effective.only or ())) or "no provider"
    if constraint == "order":
        return " → ".join(effective.order)
    if constraint == "classification":
        return effective.classification
    if constraint == "stale_as_unknown":
        return "stale policies count as unknown"
    if kind == "require":
        return f"required: {item}"
    if kind == "exclude":
        return f"excluded: {item}"
    return ""


def run_playground(request) -> dict:
    catalog = get_catalog()
    context = {
        "identities": _identities(request.user),
        "models": sorted(catalog.models()),
        "require_choices": FLAG_TAGS,
        "classifications": values(Classification),
        "example": json.dumps(EXAMPLE, indent=2),
        "form": request.POST,
    }
    if request.method != "POST":
        return context
    body, errors = _parse(request)
    layers, not_yours = _layers_as(request.POST.get("as", ""), request.user)
    context["errors"] = errors + ([not_yours] if not_yours else [])
    if body is not None and not not_yours:
        context.update(_resolution_context(body, layers))
    return context


def _resolution_context(body: dict, layers) -> dict:
    """The request resolved as the API resolves it, under the chosen account's or key's layers."""
    today = timezone.now().date()
    try:
        answer = resolve_request(None, body, today=today, layers=layers)
    except RequestError as exc:
        return {"errors": [str(exc)]}
    except UnknownModel as exc:
        return {"errors": [unknown_model(exc.model)]}
    resolution = answer.resolution
    return {
        "resolution": resolution,
        "sources": [
            (constraint, constraint_value(constraint, resolution.effective), source)
            for constraint, source in sorted(resolution.effective.sources.items())
        ],
        "eligible": [(e, policy_badges(e.policy, today)) for e in resolution.eligible],
        "blocking": blocking_constraints(resolution),
        "ignored": answer.request.ignored,
        "notices": answer.request.warnings,
    }
