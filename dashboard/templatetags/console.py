import json

from django import template
from django.utils.safestring import mark_safe

from dashboard import audit_words

register = template.Library()


@register.filter
def safe_json(value) -> str:
    """Compact JSON for showing before/after values; autoescaping still applies."""
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


# The menu entry each page sits under, where that is not the page itself.
NAV_SECTIONS = {
    "provider_list": "catalog_list",
    "provider_detail": "catalog_list",
    "playground": "catalog_list",
    "catalog_changelog": "catalog_list",
    "change_detail": "review_queue",
    "manual_change": "review_queue",
    "source_list": "review_queue",
    "refresh_progress": "review_queue",
    "flagged_routes": "review_queue",
    "inquiry_new": "inquiry_list",
    "inquiry_detail": "inquiry_list",
    "inbox_detail": "inbox",
}


@register.simple_tag(takes_context=True)
def current(context, entry: str) -> str:
    """`aria-current="page"` on the menu entry (a URL name) the page is under."""
    match = getattr(context.get("request"), "resolver_match", None)
    name = match.url_name if match else None
    return mark_safe('aria-current="page"') if NAV_SECTIONS.get(name, name) == entry else ""


@register.filter
def audit_sentence(event) -> str:
    return audit_words.sentence(event.action, event.target)


@register.filter
def audit_changes(event) -> list:
    return audit_words.change_rows(event.before, event.after)
