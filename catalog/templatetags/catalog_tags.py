from django import template

from catalog.evidence import SECONDARY_ONLY, evidence_key, host_of, is_known
from catalog.models import PolicyVersion
from catalog.policy.vocabulary import FIELD_LABELS
from core.text import shown

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


@register.filter
def policy_value(value) -> str:
    return shown(value, missing="—")


@register.filter
def policy_rows(version: PolicyVersion) -> list[dict]:
    """One row per field: overrides show only what they change; defaults show every field.
    A known value shows its evidence; an unknown one the note saying why it is unknown."""
    rows = []
    for name in PolicyVersion.FIELDS:
        value = getattr(version, name)
        if value is None and (version.endpoint_id or name == "retention_days"):
            continue
        rows.append(_row(FIELD_LABELS[name], value, version, evidence_key(name)))
    return rows


@register.filter
def headquarters_row(version: PolicyVersion | None) -> dict | None:
    if version is None:
        return None
    return _row("Headquarters", version.provider.headquarters or None, version, "headquarters")


def _row(label, value, version, key) -> dict:
    known = is_known(value)
    evidence = version.evidence.get(key) if known and key != "retention_days" else None
    note = version.notes.get(key, "")
    return {
        "label": label,
        "value": shown(value, missing="not stated — counts as unknown"),
        "known": known,
        "evidence": evidence,
        "note": note,
        "secondary_only": not known and SECONDARY_ONLY in note.lower(),
    }


@register.filter
def host(url: str) -> str:
    return host_of(url)


@register.filter
def getlist(querydict, key):
    return querydict.getlist(key) if hasattr(querydict, "getlist") else []
