"""`POST /api/v1/policy/resolve`: the gateway asks where a request may go (PRODUCT.md §2).

Thin over `policy.resolve_for_key`: it reads the day once, so eligibility and the response's
`stale` flags agree across midnight, maps an unknown model to 404 and an empty answer to 422,
and leaves a receipt of every `confidential` and `regulated` resolution.
"""

from django.utils import timezone
from ninja import Router

from catalog.policy import resolver
from catalog.policy.explain import unknown_model
from catalog.policy.schemas import NoEligibleResponse, ResolveIn, ResolveOut
from catalog.policy.serialize import no_eligible_details, resolution_dict
from core.api import ApiError, ErrorResponse
from dashboard import policy
from dashboard.api import ACCOUNT_KEY
from dashboard.receipts import record_receipt

router = Router(tags=["policy"])


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
    today, model = timezone.now().date(), payload.model
    try:
        resolution, published = policy.resolve_for_key(
            request.auth, payload.constraints(), model, today=today
        )
    except policy.UnknownModel:
        raise ApiError(404, "unknown_model", unknown_model(model), model=model) from None
    if resolution.effective.classification in resolver.RECEIPT_CLASSIFICATIONS:
        record_receipt(request.auth, resolution)
    if not resolution.eligible:
        raise ApiError(422, "no_eligible_endpoint", **no_eligible_details(resolution))
    return resolution_dict(resolution, today, published)
