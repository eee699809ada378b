from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.access import public
from core.api import extend_openapi
from dashboard.health import report


@public
@never_cache
def healthz(request):
    checks = report()
    healthy = all(check["ok"] for name, check in checks.items() if name != "worker")
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )


HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"enum": ["ok", "fail"]},
        "checks": {
            "type": "object",
            "description": "database, cache, broker, catalog and worker, each with `ok` and, "
            "when it failed, `error`",
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
            "tags": ["health"],
            "responses": {
                "200": {"description": "Every dependency answered", **answer},
                "503": {"description": "A dependency did not answer (named in checks)", **answer},
            },
        }
    }
