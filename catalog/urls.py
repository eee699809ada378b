"""The catalog app's pages: the public catalog and playground, and the privacy team's review."""

from django.urls import path

from catalog import changelog_views, views
from catalog.review import views as review_views

site_patterns = [
    path("catalog/", views.catalog_list, name="catalog_list"),
    path("catalog/providers/", views.provider_list, name="provider_list"),
    path("catalog/providers/<slug:slug>/", views.provider_detail, name="provider_detail"),
    path("catalog/changes/", changelog_views.changelog_page, name="catalog_changelog"),
    path("catalog/changes.atom", changelog_views.changelog_feed, name="catalog_changelog_feed"),
    path("catalog/changes.json", changelog_views.changelog_json, name="catalog_changelog_json"),
    path("playground/", views.playground, name="playground"),
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
]
