"""The project's URLconf: each app's pages and the one JSON API that every app's router joins."""

from django.urls import include, path

from catalog import urls as catalog_urls
from catalog.policy.api import router as catalog_router
from core.api import api
from dashboard import urls as dashboard_urls
from dashboard.api import router as account_router
from dashboard.config_api import router as config_router
from dashboard.policy_api import router as resolve_router
from dashboard.views import health
from usage import urls as usage_urls
from usage.api import router as usage_router

for router in (account_router, resolve_router, catalog_router, config_router, usage_router):
    api.add_router("", router)

urlpatterns = [
    *dashboard_urls.site_patterns,
    path(
        "a/<slug:account_slug>/",
        include([*dashboard_urls.account_patterns, *usage_urls.account_patterns]),
    ),
    *catalog_urls.site_patterns,
    *usage_urls.site_patterns,
    path("healthz", health.healthz, name="healthz"),
    path("api/", api.urls),
]

handler404 = "dashboard.views.errors.not_found"
handler500 = "dashboard.views.errors.server_error"
