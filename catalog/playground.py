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
from dashboard.policy import UnknownModel, resolve_request

EXAMPLE = {
    "model": "anyapi/auto",
    "providers": {"require": ["zero-retention", "no-training"], "exclude": ["deepseek"]},
    "messages": [{"role": "user", "content": "(ignored: never stored)"}],
}


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def request_from_form(data) -> dict:
    """The JSON request the form controls describe."""
    body = {"model": data.get("model") or resolver.AUTO_MODEL}
    if data.get("classification"):
        body["classification"] = data["classification"]
    data_policy = {}
    if data.get("block_training"):
        data_policy["training_allowed"] = False
    if data.get("retention_days", "").strip():
        data_policy["retention_days"] = _int_or_text(data["retention_days"])
    if data_policy:
        body["data_policy"] = data_policy
    providers = {
        "require": data.getlist("require") + _split(data.get("extra_tags", "")),
        "exclude": _split(data.get("exclude", "")),
        "order": _split(data.get("order", "")),
    }
    if data.get("only", "").strip():
        providers["only"] = _split(data["only"])
    body["providers"] = {k: v for k, v in providers.items() if v}
    return body


def _int_or_text(value: str):
    try:
        return int(value)
    except ValueError:
        return value  # validation reports it with its field path


def _parse(request) -> tuple[dict | None, list[str]]:
    pasted = request.POST.get("json", "").strip()
    if not pasted:
        return request_from_form(request.POST), []
    try:
        body = json.loads(pasted)
    except json.JSONDecodeError as exc:
        return None, [f"The pasted request is not JSON: {exc.msg} (line {exc.lineno})."]
    return (body, []) if isinstance(body, dict) else (None, ["The request must be a JSON object."])


def run_playground(request) -> dict:
    catalog = get_catalog()
    context = {
        "models": sorted(catalog.models()),
        "require_choices": FLAG_TAGS,
        "classifications": values(Classification),
        "example": json.dumps(EXAMPLE, indent=2),
        "form": request.POST,
    }
    if request.method != "POST":
        return context
    body, errors = _parse(request)
    context["errors"] = errors
    if body is not None:
        context.update(_resolution_context(body))
    return context


def _resolution_context(body: dict) -> dict:
    """The request resolved as the API resolves it, without an account's layers."""
    today = timezone.now().date()
    try:
        answer = resolve_request(None, body, today=today)
    except RequestError as exc:
        return {"errors": [str(exc)]}
    except UnknownModel as exc:
        return {"errors": [unknown_model(exc.model)]}
    resolution = answer.resolution
    return {
        "resolution": resolution,
        "sources": sorted(resolution.effective.sources.items()),
        "eligible": [(e, policy_badges(e.policy, today)) for e in resolution.eligible],
        "blocking": blocking_constraints(resolution),
        "ignored": answer.request.ignored,
        "notices": answer.request.warnings,
    }
