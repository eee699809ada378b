"""The privacy vocabulary of PRODUCT.md §2 as browser forms: account defaults, key guardrails.

The values go through the configuration API's own pydantic schemas, so the browser and the API
accept exactly the same settings. The provider lists are choices from the catalog as well: a
mistyped slug there would silently exclude or allow nothing.
"""

from django import forms
from pydantic import ValidationError

from catalog.policy.vocabulary import CLASSIFICATION_TEXT, FLAG_TAGS, TAG_TEXT
from core.plain_errors import plain_message
from core.text import int_or_text, split_list
from dashboard.config_api import AccountPrivacyIn, GuardrailIn
from dashboard.models import Classification

INHERIT = "The key adds no class of its own; the account's class applies."
# What the account setting is called when a guardrail would loosen it.
ACCOUNT_SETTINGS = {
    "training_allowed": "training block",
    "retention_days": "retention limit",
    "only": "allowed providers",
    "classification": "data class",
}
# Vocabulary field -> the form field its errors are shown next to.
ERROR_FIELDS = {"training_allowed": "block_training", "require": "require_more"}


class GuardrailForm(forms.Form):
    """A key's guardrail; `saved` is the stored vocabulary, `providers` the catalog's slugs."""

    schema = GuardrailIn

    classification = forms.ChoiceField(
        label="Data class",
        required=False,
        choices=[("", "Same as the account"), *Classification.choices],
        widget=forms.RadioSelect,
    )
    block_training = forms.BooleanField(
        label="Block providers that may train on the data", required=False
    )
    retention_days = forms.CharField(
        label="Most days a provider may keep the data",
        required=False,
        max_length=12,
        help_text="0 means zero retention; empty means no limit of its own.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    require = forms.MultipleChoiceField(
        label="Required",
        required=False,
        choices=[(t, t) for t in FLAG_TAGS],
        widget=forms.CheckboxSelectMultiple,
    )
    require_more = forms.CharField(
        label="More required tags",
        required=False,
        max_length=500,
        help_text="Comma-separated: <code>cert:soc2</code>, <code>region:eu</code>, "
        "<code>hq:de</code>.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    exclude = forms.MultipleChoiceField(
        label="Excluded providers", required=False, widget=forms.CheckboxSelectMultiple
    )
    only_mode = forms.ChoiceField(
        label="Providers allowed",
        choices=[("any", "Any provider"), ("list", "Only the providers checked")],
        widget=forms.RadioSelect,
    )
    only = forms.MultipleChoiceField(
        label="Allowed providers", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, data=None, *, saved: dict, providers, read_only=False):
        self.saved = saved
        super().__init__(data, initial=self.initial_from(saved))
        choices = [(p, p) for p in sorted({*providers, *saved["exclude"], *(saved["only"] or ())})]
        self.fields["exclude"].choices = self.fields["only"].choices = choices
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"errors-{name}"
            field.disabled = read_only
        self.vocabulary = None

    @staticmethod
    def initial_from(vocabulary: dict) -> dict:
        require, days = vocabulary["require"], vocabulary["retention_days"]
        return {
            "classification": vocabulary["classification"] or "",
            "block_training": vocabulary["training_allowed"] is False,
            "retention_days": "" if days is None else str(days),
            "require": [tag for tag in require if tag in FLAG_TAGS],
            "require_more": ", ".join(tag for tag in require if tag not in FLAG_TAGS),
            "exclude": vocabulary["exclude"],
            "only_mode": "any" if vocabulary["only"] is None else "list",
            "only": vocabulary["only"] or [],
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.vocabulary = self.schema.model_validate(self.submitted(cleaned)).vocabulary()
        except ValidationError as exc:
            for error in exc.errors():
                field = error["loc"][0] if error["loc"] else None
                self.add_error(ERROR_FIELDS.get(field, field), plain_message(error) + ".")
        return cleaned

    def submitted(self, cleaned: dict) -> dict:
        """The vocabulary as the API would receive it, before the schema checks it."""
        days = cleaned["retention_days"]
        # Unchecking "block" says nothing; an explicit allowance set through the API stays.
        allowed = True if self.saved["training_allowed"] is True else None
        return {
            "training_allowed": False if cleaned["block_training"] else allowed,
            "retention_days": int_or_text(days) if days else None,
            "require": [*cleaned["require"], *split_list(cleaned["require_more"])],
            "exclude": cleaned["exclude"],
            "only": cleaned["only"] if cleaned["only_mode"] == "list" else None,
            "classification": cleaned["classification"] or None,
        }

    def proposed(self) -> dict | None:
        """The vocabulary to preview: what was posted if it is valid, the saved one unposted."""
        if not self.is_bound:
            return self.saved
        return self.vocabulary if self.is_valid() else None

    def refuse_looser(self, problems: list[tuple[str, str]]) -> None:
        for field, message in problems:
            setting = ACCOUNT_SETTINGS.get(field, field)
            self.add_error(
                ERROR_FIELDS.get(field, field),
                f"Refused: this would loosen the account's {setting} ({message}).",
            )
        if problems:
            self.vocabulary = None

    preset_counts: dict[str, tuple[int, int]] = {}

    def preset_cards(self) -> list[tuple]:
        """(radio, explanation, (eligible, total) endpoints or None) for each data class."""
        return [
            (
                radio,
                CLASSIFICATION_TEXT.get(radio.data["value"], INHERIT),
                self.preset_counts.get(radio.data["value"]),
            )
            for radio in self["classification"]
        ]

    def require_chips(self) -> list[tuple]:
        """(checkbox, what the tag means) for each flag tag."""
        return [(box, TAG_TEXT[box.data["value"]]) for box in self["require"]]

    @property
    def read_only(self) -> bool:
        return all(field.disabled for field in self.fields.values())


class AccountPrivacyForm(GuardrailForm):
    schema = AccountPrivacyIn

    regulated_certifications = forms.CharField(
        label="Certifications the regulated class requires",
        required=False,
        max_length=500,
        help_text="Comma-separated certification ids, such as <code>soc2, hipaa</code>.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    stale_as_unknown = forms.BooleanField(
        label="Stale policies count as unknown",
        required=False,
        help_text="A policy past its review date is then treated as the worst case.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classification"].choices = Classification.choices

    @staticmethod
    def initial_from(vocabulary: dict) -> dict:
        return {
            **GuardrailForm.initial_from(vocabulary),
            "regulated_certifications": ", ".join(vocabulary["regulated_certifications"]),
            "stale_as_unknown": vocabulary["stale_as_unknown"],
        }

    def submitted(self, cleaned: dict) -> dict:
        return {
            **super().submitted(cleaned),
            "regulated_certifications": split_list(cleaned["regulated_certifications"]),
            "stale_as_unknown": cleaned["stale_as_unknown"],
        }


def describe(vocabulary: dict) -> list[str]:
    """The settings of a layer in plain words, one line each; empty when it says nothing."""
    lines = []
    if vocabulary.get("classification"):
        name = vocabulary["classification"]
        text = CLASSIFICATION_TEXT[name]
        lines.append(f"Data class {name}: {text[0].lower()}{text[1:]}")
    if vocabulary.get("training_allowed") is False:
        lines.append("Providers that may train on the data are blocked.")
    if vocabulary.get("retention_days") is not None:
        lines.append(f"Data may be kept at most {vocabulary['retention_days']} days.")
    for key, text in [("require", "Required"), ("exclude", "Excluded providers")]:
        if vocabulary.get(key):
            lines.append(f"{text}: {', '.join(vocabulary[key])}.")
    if vocabulary.get("only") is not None:
        lines.append(f"Only these providers: {', '.join(vocabulary['only']) or 'none'}.")
    if vocabulary.get("regulated_certifications"):
        certs = ", ".join(vocabulary["regulated_certifications"])
        lines.append(f"The regulated class requires: {certs}.")
    if vocabulary.get("stale_as_unknown"):
        lines.append("Stale policies count as unknown.")
    return lines
