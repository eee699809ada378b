"""The account app's pages: mounted under an account (`account_patterns`) and at the top level."""

from django.urls import path

from dashboard.views import accounts, audit, auth, inbox, keys
from dashboard.views import exceptions as exception_views
from dashboard.views import inquiries as inquiry_views
from dashboard.views import notifications as notification_views
from dashboard.views import privacy as privacy_views
from dashboard.views import receipts as receipt_views
from dashboard.views import settings_review as review_views

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
    path("privacy/confirm/", review_views.privacy_confirm, name="privacy_confirm"),
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
    path("inquiries/", inquiry_views.inquiry_list, name="inquiry_list"),
    path("inquiries/new/", inquiry_views.inquiry_new, name="inquiry_new"),
    path("inquiries/<int:pk>/", inquiry_views.inquiry_detail, name="inquiry_detail"),
    path("inquiries/<int:pk>/reply/", inquiry_views.inquiry_reply, name="inquiry_reply"),
    path("inquiries/<int:pk>/close/", inquiry_views.inquiry_close, name="inquiry_close"),
]

site_patterns = [
    path("", accounts.home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth.logout, name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("password/done/", auth.password_change_done, name="password_change_done"),
    path("accounts/", accounts.account_list, name="account_list"),
    path("invitations/<str:token>/", accounts.accept_invitation, name="accept_invitation"),
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
    path("inquiries/new/", inquiry_views.inquiry_start, name="inquiry_start"),
    path("review/inquiries/", inbox.inbox, name="inbox"),
    path("review/inquiries/<int:pk>/", inbox.inbox_detail, name="inbox_detail"),
    path("review/inquiries/<int:pk>/reply/", inbox.inbox_reply, name="inbox_reply"),
    path("review/inquiries/<int:pk>/assign/", inbox.inbox_assign, name="inbox_assign"),
    path("review/inquiries/<int:pk>/status/", inbox.inbox_status, name="inbox_status"),
    path("review/inquiries/<int:pk>/propose/", inbox.inbox_propose, name="inbox_propose"),
]
