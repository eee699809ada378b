from django.urls import include, path

from catalog import views as catalog_views
from catalog.api import router as catalog_router

from .api import api
from .config_api import router as config_router
from .views import accounts, audit, auth, health, keys

account_patterns = [
    path("", accounts.account_overview, name="account_overview"),
    path("members/", accounts.member_list, name="member_list"),
    path("members/<int:pk>/role/", accounts.member_change_role, name="member_change_role"),
    path("members/<int:pk>/remove/", accounts.member_remove, name="member_remove"),
    path("invitations/<int:pk>/revoke/", accounts.invitation_revoke, name="invitation_revoke"),
    path("keys/", keys.key_list, name="key_list"),
    path("keys/<str:prefix>/revoke/", keys.key_revoke, name="key_revoke"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit.csv", audit.audit_export, name="audit_export"),
]

api.add_router("", catalog_router)
api.add_router("", config_router)

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
    path("healthz", health.healthz, name="healthz"),
    path("api/", api.urls),
]

handler404 = "dashboard.views.errors.not_found"
handler500 = "dashboard.views.errors.server_error"
