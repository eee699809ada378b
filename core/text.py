"""Text typed into forms, read; and a policy value shown in words. One place for each, so a
comma list or a missing value reads the same on every page."""


def split_list(value: str) -> list[str]:
    """A comma-separated field as its non-empty parts: "a, b,,c " → ["a", "b", "c"]."""
    return [part.strip() for part in value.split(",") if part.strip()]


def int_or_text(value: str) -> int | str:
    """The integer typed, or the text as it was, for validation to report in its own words."""
    try:
        return int(value)
    except ValueError:
        return value


def shown(value, missing: str | None) -> str | None:
    """A value in words: a list joined ("none" when empty), None or "" as `missing`."""
    if value is None or value == "":
        return missing
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)
