"""The gateway's API: where may this request go, and what does the catalog say."""

from django.utils import timezone
from ninja import Query, Router, Schema

from catalog.policy import resolver
from catalog.policy.schemas import (
    EndpointListOut,
    NoEligibleResponse,
    ProviderListOut,
    ResolveIn,
    ResolveOut,
)
from catalog.policy.serialize import (
    endpoint_dict,
    no_eligible_details,
    provider_dict,
    resolution_dict,
)
from catalog.policy.snapshot import get_both, get_published
from core.api import ApiError, ErrorResponse
from dashboard.api import ACCOUNT_KEY
from dashboard.privacy import layers_for_key
from dashboard.receipts import record_receipt

router = Router(tags=["policy"])


def resolve_for(key, request_constraints, model, layer="request"):
    """Resolve `model` under the account's defaults, the key's guardrail and the request."""
    return resolve_published(key, request_constraints, model, layer)[0]


def resolve_published(key, request_constraints, model, layer="request"):
    """`resolve_for`, with the evidence of the catalog version it resolved against."""
    account_layers = layers_for_key(key) if key is not None else []
    effective = resolver.merge_cached((*account_layers, (layer, request_constraints)))
    catalog, published = get_both()
    try:
        return resolver.resolve(catalog, model, effective, timezone.now().date()), published
    except resolver.UnknownModel:
        raise ApiError(
            404, "unknown_model", f"The catalog has no model {model!r}.", model=model
        ) from None


@router.post(
    "/v1/policy/resolve",
    auth=ACCOUNT_KEY,
    response={
        200: ResolveOut,
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        404: ErrorResponse,
        422: NoEligibleResponse,
    },
    summary="Which endpoints may serve this request",
)
def resolve_policy(request, payload: ResolveIn):
    resolution, published = resolve_published(request.auth, payload.constraints(), payload.model)
    if resolution.effective.classification in resolver.RECEIPT_CLASSIFICATIONS:
        record_receipt(request.auth, resolution)
    if not resolution.eligible:
        raise ApiError(422, "no_eligible_endpoint", **no_eligible_details(resolution))
    return resolution_dict(resolution, timezone.now().date(), published)


class EndpointFilters(Schema):
    model: str | None = None
    provider: str | None = None
    require: list[str] = []


def _require_tags(values: list[str]) -> frozenset[str]:
    tags = set()
    for value in values:
        for tag in filter(None, value.split(",")):
            try:
                tags.add(resolver.parse_tag(tag.strip()))
            except resolver.InvalidTag:
                raise ApiError(
                    400, "invalid_request", f"require: unknown tag {tag!r}", field="require"
                ) from None
    return frozenset(tags)


@router.get(
    "/v1/catalog/endpoints",
    response={200: EndpointListOut, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse},
    summary="The catalog's endpoints with their current data policies",
    description="Filters: `model`, `provider`, `require` (tags, repeated or comma-separated). "
    "With an account key, `for=me` keeps only what the account and the key allow.",
)
def list_endpoints(request, filters: Query[EndpointFilters]):
    constraints = resolver.Constraints(
        require=_require_tags(filters.require),
        only=frozenset({filters.provider.lower()}) if filters.provider else None,
    )
    key = ACCOUNT_KEY(request) if request.GET.get("for") == "me" else None
    model = filters.model or resolver.AUTO_MODEL
    resolution, published = resolve_published(key, constraints, model, "filter")
    today = timezone.now().date()
    return {
        "catalog_version": resolution.catalog_version,
        "endpoints": [endpoint_dict(e, today, published) for e in resolution.eligible],
    }


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
