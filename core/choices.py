"""Django choices derived from a plain value set, so models never spell the values again."""

from enum import StrEnum

from django.db import models


def text_choices(values: type[StrEnum]) -> type[models.TextChoices]:
    """`TextChoices` with the same names and values; Django derives the labels from the names
    ("FLAGGED_ONLY" → "Flagged Only"), exactly as for a hand-written class, so no migration."""
    return models.TextChoices(values.__name__, [(member.name, member.value) for member in values])
