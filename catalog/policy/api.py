"""The public catalog API: what the catalog says, for anyone; `?for=me` narrows the endpoints
to what the presented key may reach. The gateway's resolve endpoint is the accounts side's
(`dashboard/policy_api.py`)."""

from typing import Literal

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from catalog.policy import resolver
from catalog.policy.explain import unknown_model
from catalog.policy.schemas import EndpointListOut, ProviderListOut
from catalog.policy.serialize import endpoint_dict, provider_dict
from catalog.policy.snapshot import get_published
from catalog.policy.vocabulary import TAG_SYNTAX
from core.api import ApiError, ErrorResponse
from dashboard.api import ACCOUNT_KEY
from dashboard.policy import resolve_for_key

router = Router(tags=["policy"])


class EndpointFilters(Schema):
    model: str | None = Field(None, description="Only this model's endpoints (a model slug).")
    provider: str | None = Field(
        None,
        description="Only this provider's endpoints: its slug, display name, an alias or an "
        "endpoint tag, as in resolve.",
    )
    require: list[str] = Field(
        [],
        description="Tags every listed endpoint satisfies, repeated or comma-separated: "
        f"{TAG_SYNTAX}.",
    )
    for_: Literal["me"] | None = Field(
        None,
        alias="for",
        description="`me`: only what the presenting account key's account defaults and "
        "guardrail allow (an inference or management key; an ingest key is 403).",
    )


def _require_tags(values: list[str]) -> frozenset[str]:
    tags = set()
    for value in values:
        for tag in filter(None, value.split(",")):
            try:
                tags.add(resolver.parse_tag(tag.strip()))
            except resolver.InvalidTag as exc:
                raise ApiError(
                    400, "invalid_request", f"require: {exc.explained()}", field="require"
                ) from None
    return frozenset(tags)


@router.get(
    "/v1/catalog/endpoints",
    response={
        200: EndpointListOut,
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        404: ErrorResponse,
    },
    summary="The catalog's endpoints with their current data policies",
    description="Public. With `for=me`, an account key is required (401 without one, 403 for "
    "an ingest key).",
    openapi_extra={"security": [{}, {"KeyAuth": []}]},
)
def list_endpoints(request, filters: Query[EndpointFilters]):
    constraints = resolver.Constraints(
        require=_require_tags(filters.require),
        only=frozenset({_provider_slug(filters.provider)}) if filters.provider else None,
    )
    key = ACCOUNT_KEY(request) if filters.for_ == "me" else None
    model, today = filters.model or resolver.AUTO_MODEL, timezone.now().date()
    try:
        resolution, published = resolve_for_key(
            key, constraints, model, today=today, layer="filter"
        )
    except resolver.UnknownModel:
        raise ApiError(404, "unknown_model", unknown_model(model), model=model) from None
    return {
        "catalog_version": resolution.catalog_version,
        "endpoints": [endpoint_dict(e, today, published) for e in resolution.eligible],
    }


def _provider_slug(name: str) -> str:
    return get_published().provider_named(name) or name.lower()


@router.get(
    "/v1/catalog/providers",
    response={200: ProviderListOut},
    summary="The catalog's providers with their default data policies and evidence",
    description="Each provider's default policy, before endpoint overrides: every field that is "
    "not unknown with the provider's own quoted sentence, its page, when the page said it and "
    "its basis; `aliases` are the names OpenRouter clients use for the provider.",
)
def list_providers(request):
    published = get_published()
    today = timezone.now().date()
    return {
        "catalog_version": published.version,
        "providers": [provider_dict(p, today) for p in published.providers],
    }
