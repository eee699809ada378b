"""Configuration as code (PRODUCT.md §3): account privacy defaults and key guardrails, read and
replaced with a management key. Every change is audited; a guardrail looser than the account
is refused with 422 naming the field."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from pydantic import ConfigDict, Field, StrictBool

from catalog.catalog_file import Certification
from catalog.policy.schemas import Classification, Days, ProviderSlug, Tag
from core.api import ApiError, ErrorResponse
from dashboard import privacy
from dashboard.api import MANAGEMENT_KEY

router = Router(tags=["configuration"])


class GuardrailIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a typo in configuration must not pass silently
    training_allowed: StrictBool | None = None
    retention_days: Days | None = None
    require: list[Tag] = []
    exclude: list[ProviderSlug] = []
    only: list[ProviderSlug] | None = None
    classification: Classification | None = None

    def vocabulary(self) -> dict:
        values = self.model_dump()
        for name in ("require", "exclude"):
            values[name] = sorted(set(values[name]))
        if values["only"] is not None:
            values["only"] = sorted(set(values["only"]))
        return values


class AccountPrivacyIn(GuardrailIn):
    regulated_certifications: list[Certification] = Field(default_factory=list)
    stale_as_unknown: StrictBool = False

    def vocabulary(self) -> dict:
        values = super().vocabulary()
        values["regulated_certifications"] = sorted(set(values["regulated_certifications"]))
        return values


class AccountPrivacyOut(AccountPrivacyIn):
    model_config = ConfigDict(extra="ignore")


class GuardrailOut(GuardrailIn):
    model_config = ConfigDict(extra="ignore")


def _who(request) -> dict:
    return {"request": request, "actor_label": f"api key {request.auth.prefix}"}


@router.get(
    "/v1/account/privacy",
    auth=MANAGEMENT_KEY,
    response={200: AccountPrivacyOut, 401: ErrorResponse, 403: ErrorResponse},
)
def read_account_privacy(request):
    return privacy.defaults_for(request.auth.account).as_vocabulary()


@router.put(
    "/v1/account/privacy",
    auth=MANAGEMENT_KEY,
    response={200: AccountPrivacyOut, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse},
)
def replace_account_privacy(request, payload: AccountPrivacyIn):
    defaults = privacy.save_defaults(request.auth.account, payload.vocabulary(), **_who(request))
    return defaults.as_vocabulary()


def _get_key_for_account(request, prefix):
    from dashboard.models import ApiKey

    return get_object_or_404(
        ApiKey.objects.active().select_related("account"),
        prefix=prefix,
        account_id=request.auth.account_id,
    )


@router.get(
    "/v1/keys/{prefix}/guardrail",
    auth=MANAGEMENT_KEY,
    response={200: GuardrailOut, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse},
)
def read_guardrail(request, prefix: str):
    guardrail = privacy.guardrail_for(_get_key_for_account(request, prefix))
    return guardrail.as_vocabulary() if guardrail else GuardrailIn().vocabulary()


@router.put(
    "/v1/keys/{prefix}/guardrail",
    auth=MANAGEMENT_KEY,
    response={
        200: GuardrailOut,
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        404: ErrorResponse,
        422: ErrorResponse,
    },
)
def replace_guardrail(request, prefix: str, payload: GuardrailIn):
    key = _get_key_for_account(request, prefix)
    try:
        guardrail = privacy.save_guardrail(key, payload.vocabulary(), **_who(request))
    except privacy.GuardrailLooserThanAccount as exc:
        field, _ = exc.problems[0]
        raise ApiError(
            422,
            "guardrail_looser_than_account",
            str(exc),
            field=field,
            fields=[name for name, _ in exc.problems],
        ) from None
    return guardrail.as_vocabulary()
