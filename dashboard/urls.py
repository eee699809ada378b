from django.urls import include, path

from catalog import review_views
from catalog import views as catalog_views
from catalog.api import router as catalog_router
from usage import urls as usage_urls
from usage.api import router as usage_router

from .api import api
from .config_api import router as config_router
from .views import accounts, audit, auth, health, keys
from .views import exceptions as exception_views
from .views import notifications as notification_views
from .views import privacy as privacy_views
from .views import receipts as receipt_views

account_patterns = [
    path("", accounts.account_overview, name="account_overview"),
    path("members/", accounts.member_list, name="member_list"),
    path("members/<int:pk>/role/", accounts.member_change_role, name="member_change_role"),
    path("members/<int:pk>/remove/", accounts.member_remove, name="member_remove"),
    path("invitations/<int:pk>/revoke/", accounts.invitation_revoke, name="invitation_revoke"),
    path("keys/", keys.key_list, name="key_list"),
    path("keys/<str:prefix>/revoke/", keys.key_revoke, name="key_revoke"),
    path("keys/<str:prefix>/guardrail/", privacy_views.key_guardrail, name="key_guardrail"),
    path(
        "keys/<str:prefix>/guardrail/preview",
        privacy_views.key_guardrail_preview,
        name="key_guardrail_preview",
    ),
    path("privacy/", privacy_views.privacy_settings, name="privacy_settings"),
    path("privacy/preview", privacy_views.privacy_preview, name="privacy_preview"),
    path("models/", privacy_views.available_models, name="available_models"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit.csv", audit.audit_export, name="audit_export"),
    path("exceptions/", exception_views.exception_list, name="exception_list"),
    path(
        "exceptions/<int:pk>/revoke/",
        exception_views.exception_revoke,
        name="exception_revoke",
    ),
    path("receipts/", receipt_views.receipt_list, name="receipt_list"),
    path("receipts.csv", receipt_views.receipt_export, name="receipt_export"),
    *usage_urls.account_patterns,
]

api.add_router("", catalog_router)
api.add_router("", config_router)
api.add_router("", usage_router)

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("password/done/", auth.password_change_done, name="password_change_done"),
    path("accounts/", accounts.account_list, name="account_list"),
    path("a/<slug:account_slug>/", include(account_patterns)),
    path("invitations/<str:token>/", accounts.accept_invitation, name="accept_invitation"),
    path("catalog/", catalog_views.catalog_list, name="catalog_list"),
    path("catalog/providers/", catalog_views.provider_list, name="provider_list"),
    path("catalog/providers/<slug:slug>/", catalog_views.provider_detail, name="provider_detail"),
    path("playground/", catalog_views.playground, name="playground"),
    path("review/", review_views.review_queue, name="review_queue"),
    path("review/changes/<int:pk>/", review_views.change_detail, name="change_detail"),
    path("review/changes/<int:pk>/decide/", review_views.change_decide, name="change_decide"),
    path("review/changes/<int:pk>/edit/", review_views.change_edit, name="change_edit"),
    path(
        "review/providers/<slug:slug>/propose/",
        review_views.manual_change,
        name="manual_change",
    ),
    path("review/sources/", review_views.source_list, name="source_list"),
    path("review/sources/refresh/", review_views.refresh_now, name="refresh_now"),
    path("review/runs/<int:pk>/", review_views.refresh_progress, name="refresh_progress"),
    path("notifications/", notification_views.notification_list, name="notification_list"),
    path(
        "notifications/<int:pk>/read/",
        notification_views.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        notification_views.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/email/",
        notification_views.notification_preferences,
        name="notification_preferences",
    ),
    *usage_urls.site_patterns,
    path("healthz", health.healthz, name="healthz"),
    path("api/", api.urls),
]

handler404 = "dashboard.views.errors.not_found"
handler500 = "dashboard.views.errors.server_error"
