"""`POST /api/v1/policy/resolve`: the gateway asks where a request may go (PRODUCT.md §2).

Thin over `policy.resolve_request`: it reads the day once, so eligibility and the response's
`stale` flags agree across midnight, maps a malformed field to 400, an unknown model to 404 and
an empty answer to 422, and leaves a receipt of every `confidential` and `regulated` resolution.
The body is read as bytes and decoded by `catalog.policy.request`, which skips everything but the
policy fields: a 64 MiB multimodal request is never built into Python objects.
"""

import msgspec
from django.http import HttpResponse
from django.utils import timezone
from ninja import Router

from catalog.policy import request as request_mapping
from catalog.policy import resolver
from catalog.policy.explain import unknown_model
from catalog.policy.schemas import NoEligibleResponse, ResolveOut
from catalog.policy.serialize import no_eligible_details, resolution_dict
from core.api import ApiError, ErrorResponse, extend_openapi, read_body
from dashboard import policy
from dashboard.api import ACCOUNT_KEY
from dashboard.receipts import record_receipt

router = Router(tags=["policy"])

# A whole chat request, images and documents included (PRODUCT.md §3). Read once from the
# stream (Django's request.body stops at 2.5 MB); only its policy fields are decoded.
MAX_RESOLVE_BODY_BYTES = 64 * 1024 * 1024


def _request_body_schema() -> tuple[dict, dict]:
    # From the msgspec types the body is decoded with: the document cannot drift from the code.
    (body,), components = msgspec.json.schema_components(
        [request_mapping.ChatRequest], ref_template="#/components/schemas/{name}"
    )
    return {"content": {"application/json": {"schema": body}}, "required": True}, components


_REQUEST_BODY, _REQUEST_COMPONENTS = _request_body_schema()


@extend_openapi
def _document_request_body(schema: dict) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {}).update(_REQUEST_COMPONENTS)


@router.post(
    "/v1/policy/resolve",
    auth=ACCOUNT_KEY,
    response={
        200: ResolveOut,
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        404: ErrorResponse,
        413: ErrorResponse,
        422: NoEligibleResponse,
    },
    summary="Which endpoints may serve this request",
    description="The body is the whole chat request (OpenAI or OpenRouter style), up to "
    f"{MAX_RESOLVE_BODY_BYTES:,} bytes (413 above); only its policy fields are read. "
    "`messages` and every other field are skipped, never stored.",
    openapi_extra={"requestBody": _REQUEST_BODY},
)
def resolve_policy(request):
    today = timezone.now().date()
    answer = _answer(request.auth, read_body(request, MAX_RESOLVE_BODY_BYTES), today)
    resolution = answer.resolution
    if resolution.effective.classification in resolver.RECEIPT_CLASSIFICATIONS:
        record_receipt(request.auth, resolution)
    said = {
        "ignored": list(answer.request.ignored),
        "warnings": [notice.as_dict() for notice in answer.request.warnings],
    }
    if not resolution.eligible:
        raise ApiError(422, "no_eligible_endpoint", **no_eligible_details(resolution), **said)
    return _json({**resolution_dict(resolution, today, answer.published), **said})


def _json(answer: dict) -> HttpResponse:
    # Encoded here rather than by ninja, whose check of every answer against ResolveOut cost a
    # fifth of a resolve's CPU; tests/test_openapi.py checks real answers against the schema.
    return HttpResponse(msgspec.json.encode(answer), content_type="application/json")


def _answer(key, body: bytes, today) -> policy.Answer:
    try:
        return policy.resolve_request(key, body, today=today)
    except request_mapping.RequestError as exc:
        raise ApiError(400, "invalid_request", str(exc), field=exc.field) from None
    except policy.UnknownModel as exc:
        raise ApiError(404, "unknown_model", unknown_model(exc.model), model=exc.model) from None
