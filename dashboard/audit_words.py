"""The audit log in words: what each action means and each change as a before/after row.

The stored events keep their raw values (the CSV export and auditors' tools read those); pages
show people sentences and plain values instead of `flagged_only` and JSON.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

ACTIONS = {
    "account.created": "created the account",
    "member.invited": "invited {target}",
    "member.joined": "{target} joined the account",
    "member.role_changed": "changed the role of {target}",
    "member.removed": "removed {target} from the account",
    "member.invitation_revoked": "revoked the invitation of {target}",
    "apikey.created": "created API key {target}…",
    "apikey.revoked": "revoked API key {target}…",
    "privacy.defaults_changed": "changed the privacy settings",
    "privacy.guardrail_changed": "changed the guardrail of key {target}…",
    "exception.created": "allowed a provider by exception ({target})",
    "exception.revoked": "revoked an exception ({target})",
    "exception.expired": "an exception ended ({target})",
    "usage.deleted": "deleted the account's usage data",
    "notifications.email_muted": "changed which notification emails they get",
    "privacy.settings_reviewed": "marked the privacy settings as reviewed",
}

FIELDS = {
    "classification": "Data class",
    "training_allowed": "Providers that may train",
    "retention_days": "Most days a provider may keep data",
    "require": "Required of every endpoint",
    "exclude": "Excluded providers",
    "only": "Only these providers",
    "regulated_certifications": "Certifications the regulated class requires",
    "stale_as_unknown": "Stale policies count as unknown",
    "safety_retention": "Safety retention",
    "publishes_prompts": "Publishes prompts",
    "retention": "Retention",
    "training": "Training on API data",
    "replaces_earlier": "Replaces an earlier invitation",
}

# Values that read differently for one field than a plain yes/no would.
FIELD_VALUES = {
    "training_allowed": {True: "allowed", False: "blocked", None: "not set"},
    "only": {None: "any provider"},
    "retention_days": {None: "no limit", 0: "0 (zero retention)"},
}


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: str
    after: str


def sentence(action: str, target: str) -> str:
    words = ACTIONS.get(action)
    if words is None:
        return f"{action.replace('.', ': ').replace('_', ' ')}{f' ({target})' if target else ''}"
    return words.format(target=target)


def change_rows(before: dict | None, after: dict | None) -> list[ChangeRow]:
    """One row per field either side names, in the order they were stored."""
    before, after = _as_dict(before), _as_dict(after)
    names = list(dict.fromkeys([*before, *after]))
    return [
        ChangeRow(
            FIELDS.get(name, name.replace("_", " ").capitalize()),
            _value(name, before, name in before),
            _value(name, after, name in after),
        )
        for name in names
        if not (name in before and name in after and before[name] == after[name])
    ]


def _as_dict(value) -> dict:
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _value(name: str, values: dict, given: bool) -> str:
    if not given:
        return "—"
    value = values[name]
    special = FIELD_VALUES.get(name, {})
    if not isinstance(value, (list, dict)) and value in special:
        return special[value]
    return words(value)


def words(value) -> str:
    if value is None:
        return "not set"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(words(item) for item in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {words(v)}" for k, v in value.items()) or "none"
    if isinstance(value, str) and (moment := _moment(value)):
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return str(value).replace("_", " ")


def _moment(text: str):
    """A stored ISO 8601 date-time, or None: audit events keep moments as strings."""
    if len(text) < 19 or text[10] != "T":
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None
