import json

from django import template

register = template.Library()


@register.filter
def safe_json(value) -> str:
    """Compact JSON for showing before/after values; autoescaping still applies."""
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))
