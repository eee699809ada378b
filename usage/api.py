"""`POST /api/v1/usage/events`: the gateway reports usage metadata, never content."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.utils import timezone
from ninja import Field, Router, Schema

from core.api import ApiError, ErrorResponse
from dashboard.api import INGEST_KEY
from usage import events, partitions
from usage.ingest import ingest

router = Router(tags=["usage"])
MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 events of metadata fit in a few megabytes


class UsageEventDoc(Schema):
    """Documents the allowlist; the body is checked by usage.events, which refuses any other
    field as `forbidden_field`."""

    model_config = {"extra": "forbid"}

    id: UUID
    account: str = Field(description="account slug")
    api_key: str | None = Field(None, description="12-character key prefix")
    timestamp: datetime = Field(description="ISO 8601 with a UTC offset")
    model: str
    provider: str
    tokens_prompt: int = Field(ge=0)
    tokens_completion: int = Field(ge=0)
    latency_ms: int = Field(ge=0)
    status: Literal["ok", "error", "timeout", "rejected"]
    cost_usd: str | None = Field(None, description='decimal string, e.g. "0.000125"')


class UsageBatchDoc(Schema):
    model_config = {"extra": "forbid"}

    events: list[UsageEventDoc] = Field(max_length=events.MAX_EVENTS)


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
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": UsageBatchDoc.json_schema()}},
        }
    },
)
def report_usage(request):
    now = timezone.now()
    try:
        batch = events.parse_body(_body(request), now, partitions.oldest_accepted(now))
        result = ingest(batch)
    except events.BatchRejected as rejected:
        raise ApiError(400, rejected.code, rejected.message, **rejected.details) from None
    return {"accepted": result.accepted, "duplicates": result.duplicates}


def _body(request) -> bytes:
    length = int(request.headers.get("Content-Length") or 0)
    # Read the stream directly: request.body would stop at Django's 2.5 MB form-data limit.
    body = b"" if length > MAX_BODY_BYTES else request.read(MAX_BODY_BYTES + 1)
    if length > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        raise ApiError(
            413, "payload_too_large", f"The body may be at most {MAX_BODY_BYTES:,} bytes."
        )
    return body
