"""`POST /api/v1/usage/events`: the gateway reports usage metadata, never content."""

from django.utils import timezone
from ninja import Router, Schema

from core.api import ApiError, ErrorResponse, read_body, request_body
from dashboard.api import INGEST_KEY
from usage import events, partitions
from usage.ingest import ingest

router = Router(tags=["usage"])
MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 events of metadata fit in a few megabytes


class IngestOut(Schema):
    accepted: int
    duplicates: int


@router.post(
    "/v1/usage/events",
    auth=INGEST_KEY,
    response={
        200: IngestOut,
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        413: ErrorResponse,
    },
    summary="Report usage metadata (never prompts or responses)",
    description="Up to 10,000 events. Any field outside the allowlist rejects the whole batch "
    "with 400 `forbidden_field`; nothing of it is stored. Replayed event ids count once.",
    openapi_extra=request_body(*events.openapi_schema()),
)
def report_usage(request):
    now = timezone.now()
    try:
        body = read_body(request, MAX_BODY_BYTES)
        batch = events.parse_body(body, now, partitions.oldest_accepted(now))
        result = ingest(batch)
    except events.BatchRejected as rejected:
        raise ApiError(400, rejected.code, rejected.message, **rejected.details) from None
    return {"accepted": result.accepted, "duplicates": result.duplicates}
