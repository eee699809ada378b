"""Validation errors in the product's words, not pydantic's.

"Input should be greater than or equal to 0" tells a customer what the library checked; the
console tells them what to enter instead. Used by the JSON API's invalid_request answers and by
the forms that validate through the same schemas.
"""

from collections.abc import Mapping

# Field-specific wording where a generic sentence would not say what to do.
FIELD_HINTS = {
    "retention_days": "Enter a whole number of days, 0 or more (0 means zero retention), "
    "or leave it empty for no limit",
    "training_allowed": "Use true to allow providers that may train on the data, false to "
    "block them, or leave it out",
    "classification": "Choose a data class: public, internal, confidential or regulated",
    "stale_as_unknown": "Use true or false",
}


def plain_message(error: Mapping) -> str:
    """One pydantic error (an item of `errors()`) as a sentence a customer can act on."""
    kind = error.get("type", "")
    location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
    field = location[-1] if location else ""
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error":
        return _sentence(message)
    if kind == "extra_forbidden":
        return f"{field} is not a setting here; remove it (settings are spelled as in the API docs)"
    if kind == "missing":
        return "This is required"
    if field in FIELD_HINTS and kind not in ("string_too_long", "too_long"):
        return FIELD_HINTS[field]
    return _sentence(_GENERIC.get(kind, message))


_GENERIC = {
    "int_parsing": "Enter a whole number",
    "int_type": "Enter a whole number",
    "int_from_float": "Enter a whole number",
    "greater_than_equal": "Enter 0 or more",
    "greater_than": "Enter a larger number",
    "bool_type": "Use true or false",
    "bool_parsing": "Use true or false",
    "string_type": "Enter text",
    "list_type": 'Give a list, such as ["a", "b"]',
    "string_too_long": "This is too long",
    "too_long": "This list is too long",
    "string_pattern_mismatch": "Use lower-case letters, digits, '.', '_' or '-' only",
    "literal_error": "Choose one of the listed values",
    "model_type": "Give an object of named settings",
    "dict_type": "Give an object of named settings",
}


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] if text else "This value is not accepted"
