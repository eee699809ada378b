from django import template

from catalog.models import PolicyVersion
from catalog.policy.vocabulary import FIELD_LABELS

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "none listed"
    return str(value)


@register.filter
def policy_value(value) -> str:
    return "—" if value is None else _shown(value)


@register.filter
def policy_rows(version: PolicyVersion) -> list[dict]:
    """One row per field: overrides show only what they change; defaults show every field."""
    rows = []
    for name in PolicyVersion.FIELDS:
        value = getattr(version, name)
        if value is None and (version.endpoint_id or name == "retention_days"):
            continue
        rows.append(
            {
                "label": FIELD_LABELS[name],
                "value": "not stated — counts as unknown" if value is None else _shown(value),
                "evidence": version.evidence.get(name),
            }
        )
    return rows


@register.filter
def getlist(querydict, key):
    return querydict.getlist(key) if hasattr(querydict, "getlist") else []
