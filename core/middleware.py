"""Answers the site gives whatever the view did: JSON for every error under /api/, 503 while
the database is unreachable, and never a cached copy of a signed-in page."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# The gateway retries after this; ingest is idempotent, so a retried batch counts once.
RETRY_AFTER_SECONDS = 5
# What a database that cannot give a connection raises: refused, reset, "too many connections".
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}
_MESSAGES = {
    404: "No such API endpoint.",
    405: "This endpoint does not accept that method.",
    413: "The request body is too large.",
    500: "An unexpected error happened; it was recorded. Nothing in the request was stored.",
    503: "The service is briefly unavailable; retry after the number of seconds in Retry-After.",
}


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, message: str | None = None, code: str | None = None) -> JsonResponse:
    body = {"code": code or _CODES.get(status, "http_error"), "message": message}
    body["message"] = message or _MESSAGES.get(status, "The request could not be answered.")
    return JsonResponse({"error": body}, status=status)


def unavailable(request) -> HttpResponse:
    if is_api(request):
        response = api_error(503)
    else:
        page = loader.get_template("503.html").render()  # no context: the database is down
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ApiErrorsAsJson:
    """Turns every non-JSON error answer under /api/ (Django's own 404 and 500, a 405 or a 413
    from below the API) into the house error shape, and an unreachable database into 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            replacement = api_error(response.status_code)
            for header in ("Allow", "Retry-After"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            log.warning("database unavailable: %s", type(exception).__name__)
            return unavailable(request)
        return None


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class NoStoreWhenSignedIn:
    """Pages and exports seen with a session, and answers to an API key, hold account data: no
    browser or proxy may keep a copy. Decided from the request's headers, never the database,
    so it holds on the error pages too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Authorization" in request.headers or settings.SESSION_COOKIE_NAME in request.COOKIES:
            add_never_cache_headers(response)
        return response
