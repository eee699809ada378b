"""The JSON API: one NinjaAPI that every app adds its router to, with the house error shape.

Errors are always `{"error": {"code", "message", ...}}` with a 4xx status (PRODUCT.md §3).
"""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.middleware import DATABASE_UNAVAILABLE, unavailable
from core.plain_errors import plain_message


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class ErrorBody(Schema):
    code: str
    message: str


class ErrorResponse(Schema):
    error: ErrorBody


_openapi_extensions = []


def extend_openapi(extension):
    """Register `extension(schema)` to complete the generated schema: what ninja cannot derive
    itself (a body decoded by msgspec, a path outside the API such as /healthz)."""
    _openapi_extensions.append(extension)
    return extension


class ConsoleApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        for extension in _openapi_extensions:
            extension(schema)
        return schema


def request_body(schema: dict, components: dict) -> dict:
    """`openapi_extra` for a view that reads its own body: `schema` may refer to `components`
    as #/components/schemas/<name>, which this adds to the document."""

    @extend_openapi
    def _add_components(document: dict) -> None:
        document.setdefault("components", {}).setdefault("schemas", {}).update(components)

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def read_body(request, limit: int) -> bytes:
    """The request body, read once from the stream, or 413 when it is over `limit` bytes.

    Not `request.body`, which refuses anything over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = b"" if length > limit else request.read(limit + 1)
    if length > limit or len(body) > limit:
        raise ApiError(413, "payload_too_large", f"The body may be at most {limit:,} bytes.")
    return body


api = ConsoleApi(
    title="AnyAPI Privacy Console API",
    version="1",
    urls_namespace="api",
    docs_url=None,
    openapi_url="/openapi.json",
)


def error_response(request, status, code, message, **details):
    return api.create_response(
        request, {"error": {"code": code, "message": message, **details}}, status=status
    )


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    return error_response(request, exc.status, exc.code, exc.message, **exc.details)


@api.exception_handler(NinjaValidationError)
def on_invalid_request(request, exc: NinjaValidationError):
    first = exc.errors[0]
    location = first.get("loc", ())
    path = ".".join(str(part) for part in location if part not in ("body", "payload", "query"))
    message = plain_message(first)
    return error_response(
        request, 400, "invalid_request", f"{path or 'body'}: {message}", field=path
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return error_response(request, 401, "unauthorized", "A valid API key is required.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, "not_found", "No such object in this account.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    # ninja raises HttpError(400) for a body that is not JSON.
    code = "invalid_request" if exc.status_code == 400 else "http_error"
    return error_response(request, exc.status_code, code, str(exc))


@api.exception_handler(RequestDataTooBig)
def on_body_too_large(request, exc):
    return error_response(request, 413, "payload_too_large", "The request body is too large.")


def on_database_unavailable(request, exc):
    return unavailable(request)


for _unavailable in DATABASE_UNAVAILABLE:
    api.add_exception_handler(_unavailable, on_database_unavailable)
