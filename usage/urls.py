"""The usage app's pages: mounted under an account (`account_patterns`) and at the top level."""

from django.urls import path

from usage.views import activity, data, rankings, requests, routes

account_patterns = [
    path("activity/", activity.activity_dashboard, name="activity"),
    path("activity/cards/<slug:card>/", activity.activity_card, name="activity_card"),
    path("activity.csv", activity.activity_export, name="activity_export"),
    path("requests/", requests.request_log_page, name="request_log"),
    path("usage/", data.usage_data, name="usage_data"),
    path("usage/export.zip", data.usage_export, name="usage_export"),
    path("usage/delete/", data.usage_delete, name="usage_delete"),
]

site_patterns = [
    path("rankings/", rankings.model_rankings, name="rankings"),
    path("staff/activity/", activity.staff_overview, name="staff_activity"),
    path("review/unknown-routes/", routes.flagged_routes, name="flagged_routes"),
]
