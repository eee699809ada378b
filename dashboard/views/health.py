from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.access import public
from core.api import extend_openapi
from core.middleware import DATABASE_UNAVAILABLE
from dashboard.health import report

# Without these the API cannot answer at all; without the cache or the broker it still can
# (from each process's own caches and the database), so a load balancer should keep it.
ESSENTIAL = ("database", "catalog")


@public
@never_cache
def healthz(request):
    checks = report()
    healthy = all(check["ok"] for name, check in checks.items() if name != "worker")
    serving = all(checks[name]["ok"] for name in ESSENTIAL)
    if not _is_staff(request):  # error texts and versions are for the platform's staff only
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if serving else 503,
    )


def _is_staff(request) -> bool:
    try:
        return request.user.is_staff
    except DATABASE_UNAVAILABLE:
        return False


HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "checks": {
            "type": "object",
            "description": "database, cache, broker, catalog and worker, each with `ok`; staff "
            "users also see `error` when it failed, and versions",
            "additionalProperties": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
            },
        },
    },
}


@extend_openapi
def _document_healthz(schema: dict) -> None:
    answer = {"content": {"application/json": {"schema": HEALTH_SCHEMA}}}
    schema["paths"]["/healthz"] = {
        "get": {
            "operationId": "healthz",
            "summary": "Whether the database, the cache/broker and the catalog are reachable",
            "description": "`status` is `ok`, or `degraded` when any of them is not (a missing "
            "worker is reported but degrades nothing). 200 while the database and the catalog "
            "answer, since the API then answers too; 503 otherwise.",
            "tags": ["health"],
            "responses": {
                "200": {"description": "The API can answer", **answer},
                "503": {"description": "The database or the catalog did not answer", **answer},
            },
        }
    }
