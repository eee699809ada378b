from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from core.access import public
from dashboard.health import report


@public
@never_cache
def healthz(request):
    checks = report()
    healthy = all(check["ok"] for name, check in checks.items() if name != "worker")
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
