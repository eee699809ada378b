"""The JSON API: one NinjaAPI that every app adds its router to, with the house error shape.

Errors are always `{"error": {"code", "message", ...}}` with a 4xx status (PRODUCT.md §3).
"""

from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from .models import ApiKey


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class ErrorBody(Schema):
    code: str
    message: str


class ErrorResponse(Schema):
    error: ErrorBody


class KeyAuth(HttpBearer):
    """Bearer API key of one of the given kinds: unknown or revoked is 401, wrong kind 403."""

    def __init__(self, *kinds: str):
        super().__init__()
        self.kinds = frozenset(kinds)

    def __call__(self, request: HttpRequest):
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            raise ApiError(401, "unauthorized", "Send an API key as 'Authorization: Bearer <key>'.")
        return super().__call__(request)

    def authenticate(self, request, token):
        key = ApiKey.authenticate(token)
        if key is None:
            raise ApiError(401, "unauthorized", "This API key is unknown or has been revoked.")
        if key.kind not in self.kinds:
            allowed = ", ".join(sorted(self.kinds))
            raise ApiError(
                403,
                "wrong_key_kind",
                f"{key.kind.capitalize()} keys cannot call this endpoint; use: {allowed}.",
            )
        return key


ACCOUNT_KEY = KeyAuth(ApiKey.Kind.INFERENCE, ApiKey.Kind.MANAGEMENT)
MANAGEMENT_KEY = KeyAuth(ApiKey.Kind.MANAGEMENT)
INGEST_KEY = KeyAuth(ApiKey.Kind.INGEST)

api = NinjaAPI(
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
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
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


class KeyOut(Schema):
    prefix: str
    name: str
    kind: str


class AccountOut(Schema):
    slug: str
    name: str
    key: KeyOut


@api.get(
    "/v1/account",
    auth=ACCOUNT_KEY,
    response={200: AccountOut, 401: ErrorResponse, 403: ErrorResponse},
    tags=["account"],
    summary="The account the presented API key belongs to",
)
def current_account(request):
    key = request.auth
    return {"slug": key.account.slug, "name": key.account.name, "key": key}
