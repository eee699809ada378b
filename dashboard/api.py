"""API-key authentication for the JSON API, and the key's own account."""

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBearer

from core.api import ApiError, ErrorResponse

from .models import ApiKey

router = Router()


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


class KeyOut(Schema):
    prefix: str
    name: str
    kind: str


class AccountOut(Schema):
    slug: str
    name: str
    key: KeyOut


@router.get(
    "/v1/account",
    auth=ACCOUNT_KEY,
    response={200: AccountOut, 401: ErrorResponse, 403: ErrorResponse},
    tags=["account"],
    summary="The account the presented API key belongs to",
)
def current_account(request):
    key = request.auth
    return {"slug": key.account.slug, "name": key.account.name, "key": key}
