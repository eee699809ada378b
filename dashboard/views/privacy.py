"""Privacy settings, key guardrails and the models an account may reach (PRODUCT.md §2).

Every preview resolves against the per-process catalog snapshot, so no page here costs more
queries for a larger catalog. Only the two save paths write, and both audit.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.policy import explain, resolver
from catalog.policy.badges import policy_badges
from catalog.policy.snapshot import get_catalog
from catalog.policy.vocabulary import Classification, values
from core.access import account_member
from dashboard import policy, privacy, settings_review
from dashboard.config_api import GuardrailIn
from dashboard.privacy_forms import AccountPrivacyForm, GuardrailForm, describe
from usage.recent import requests_by_model

SETTINGS = "dashboard/privacy_settings.html"
GUARDRAIL = "dashboard/key_guardrail.html"
MODELS = "dashboard/available_models.html"
SHOWN_ENDPOINTS = 50  # per reason in the preview; the count is always exact


# --- Access -------------------------------------------------------------------------------------


def _active_key(request, prefix):
    return get_object_or_404(request.account.api_keys.active(), prefix=prefix)


# --- Layers and previews ------------------------------------------------------------------------


def _providers(catalog) -> list[str]:
    return sorted({e.provider for e in catalog.endpoints_for(resolver.AUTO_MODEL)})


def _preview(proposed_layers, saved_layers, recently_used: dict[str, int]) -> dict:
    catalog, today = get_catalog(), timezone.now().date()
    proposed = policy.resolve_every_model(catalog, proposed_layers, today)
    saved = policy.resolve_every_model(catalog, saved_layers, today)
    unavailable, was = explain.unavailable_models(proposed), explain.unavailable_models(saved)
    return {
        # Models with traffic in the last 30 days that these settings leave nowhere to go.
        "used_unavailable": [
            (model, recently_used[model], model not in was)
            for model in sorted(unavailable & recently_used.keys())
        ],
        "eligible": len(proposed.eligible),
        "total": len(proposed.eligible) + len(proposed.excluded),
        "unavailable": sorted(unavailable),
        "newly_unavailable": sorted(unavailable - was),
        "newly_available": sorted(was - unavailable),
        "saved_eligible": len(saved.eligible),
        "reasons": explain.reason_groups(proposed, SHOWN_ENDPOINTS),
    }


def _preset_counts(layers_with_class) -> dict[str, tuple[int, int]]:
    """(eligible, total) endpoints for each data class, the other settings as on the form."""
    catalog, today, counts = get_catalog(), timezone.now().date(), {}
    for classification in ("", *values(Classification)):
        layers = layers_with_class(classification or None)
        resolution = policy.resolve_every_model(catalog, layers, today)
        counts[classification] = (
            len(resolution.eligible),
            len(resolution.eligible) + len(resolution.excluded),
        )
    return counts


def _template(name, partial):
    return f"{name}#{partial}" if partial else name


# --- Account privacy settings -------------------------------------------------------------------


def _account_form(request, saved, data=None):
    read_only = not request.membership.can_manage
    providers = _providers(get_catalog())
    return AccountPrivacyForm(data, saved=saved, providers=providers, read_only=read_only)


def what_stops_working(preview: dict | None) -> list[str]:
    """What saving these settings would break, in words; empty when nothing would."""
    if preview is None:
        return []
    stops = []
    if preview["eligible"] == 0:
        stops.append("No endpoint would be eligible: every request would be refused.")
    for model, requests, newly in preview["used_unavailable"]:
        if newly:
            stops.append(
                f"{model} would have no eligible endpoint: it served {requests:,} "
                f"request{'s' * (requests != 1)} in the last 30 days, which would be refused."
            )
    return stops


def _confirmed_or_asked(request, context) -> bool:
    """True when saving may go ahead; otherwise the context asks to confirm first."""
    stops = what_stops_working(context.get("preview"))
    if stops and not request.POST.get("confirmed"):
        context["confirm"] = stops
        return False
    return True


def _settings_context(request, form, partial=None) -> dict:
    excepted = privacy.excepted_providers(request.account)
    proposed = form.proposed()
    context = {"form": form, "oob": partial is not None}
    shown = proposed if proposed is not None else form.saved
    form.preset_counts = _preset_counts(
        lambda c: privacy.layers({**shown, "classification": c}, excepted=excepted)
    )
    if partial is None:
        context["review"] = settings_review.state_of(request.account)
    if proposed is not None:
        context["preview"] = _preview(
            privacy.layers(proposed, excepted=excepted),
            privacy.layers(form.saved, excepted=excepted),
            requests_by_model(request.account),
        )
    return context


def _settings_page(request, form, partial=None, context=None):
    context = context or _settings_context(request, form, partial)
    return render(request, _template(SETTINGS, partial), context)


@account_member(managers_write="Only owners and admins change privacy settings.")
def privacy_settings(request):
    saved = privacy.defaults_for(request.account).as_vocabulary()
    if request.method != "POST":
        return _settings_page(request, _account_form(request, saved))
    form = _account_form(request, saved, request.POST)
    if not form.is_valid():
        return _settings_page(request, form)
    context = _settings_context(request, form)
    if not _confirmed_or_asked(request, context):
        return _settings_page(request, form, context=context)
    privacy.save_defaults(request.account, form.vocabulary, request=request)
    messages.success(
        request, "Privacy settings saved. They apply to the next request of every key."
    )
    return redirect("privacy_settings", account_slug=request.account.slug)


@require_POST
@account_member(manage=True)
def privacy_preview(request):
    """What the posted settings would allow; validates and shows errors, never saves."""
    saved = privacy.defaults_for(request.account).as_vocabulary()
    form = _account_form(request, saved, request.POST)
    return _settings_page(request, form, "preview" if request.htmx else None)


# --- Key guardrails -----------------------------------------------------------------------------


def _guardrail_form(request, key, data=None):
    guardrail = privacy.guardrail_for(key)
    saved = guardrail.as_vocabulary() if guardrail else GuardrailIn().vocabulary()
    read_only = not request.membership.can_manage
    providers = _providers(get_catalog())
    return GuardrailForm(data, saved=saved, providers=providers, read_only=read_only)


def _guardrail_context(request, key, form, account, partial=None) -> dict:
    excepted = privacy.excepted_providers(request.account, key)
    proposed = form.proposed()
    context = {"key": key, "form": form, "account": describe(account), "oob": partial is not None}
    shown = proposed if proposed is not None else form.saved
    form.preset_counts = _preset_counts(
        lambda c: privacy.layers(account, {**shown, "classification": c}, excepted=excepted)
    )
    if proposed is not None:
        context["preview"] = _preview(
            privacy.layers(account, proposed, excepted=excepted),
            privacy.layers(account, form.saved, excepted=excepted),
            requests_by_model(request.account, api_key=key),
        )
    return context


def _guardrail_page(request, key, form, account, partial=None, context=None):
    context = context or _guardrail_context(request, key, form, account, partial)
    return render(request, _template(GUARDRAIL, partial), context)


@account_member(managers_write="Only owners and admins change key guardrails.")
def key_guardrail(request, prefix):
    key = _active_key(request, prefix)
    account = privacy.defaults_for(request.account).as_vocabulary()
    if request.method != "POST":
        return _guardrail_page(request, key, _guardrail_form(request, key), account)
    form = _guardrail_form(request, key, request.POST)
    if form.is_valid():
        form.refuse_looser(privacy.looser_fields(account, form.vocabulary))
    if not form.is_valid() or form.vocabulary is None:
        return _guardrail_page(request, key, form, account)
    context = _guardrail_context(request, key, form, account)
    if not _confirmed_or_asked(request, context):
        return _guardrail_page(request, key, form, account, context=context)
    try:
        privacy.save_guardrail(key, form.vocabulary, request=request)
    except privacy.GuardrailLooserThanAccount as exc:
        form.refuse_looser(exc.problems)
        return _guardrail_page(request, key, form, account)
    messages.success(request, f"Guardrail of {key.name} ({key.prefix}…) saved.")
    return redirect("key_guardrail", account_slug=request.account.slug, prefix=key.prefix)


@require_POST
@account_member(manage=True)
def key_guardrail_preview(request, prefix):
    key = _active_key(request, prefix)
    account = privacy.defaults_for(request.account).as_vocabulary()
    form = _guardrail_form(request, key, request.POST)
    if form.is_valid():
        form.refuse_looser(privacy.looser_fields(account, form.vocabulary))
    return _guardrail_page(request, key, form, account, "preview" if request.htmx else None)


# --- Models available to the account ------------------------------------------------------------


def _available(resolution, today) -> list[tuple[str, list]]:
    by_model = {}
    for endpoint in resolution.eligible:
        badges = policy_badges(endpoint.policy, today)
        by_model.setdefault(endpoint.model, []).append((endpoint, badges))
    return sorted(by_model.items())


@account_member
def available_models(request):
    """What the account's defaults allow, computed exactly as the settings page previews it."""
    today = timezone.now().date()
    defaults = privacy.defaults_for(request.account).as_vocabulary()
    layers = privacy.layers(defaults, excepted=privacy.excepted_providers(request.account))
    resolution = policy.resolve_every_model(get_catalog(), layers, today)
    context = {
        "available": _available(resolution, today),
        "unavailable": explain.main_reasons(resolution),
        "settings": describe(defaults),
    }
    return render(request, MODELS, context)
