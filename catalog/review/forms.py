"""The review pages' forms: a decision with its comment, and proposed field values with the
evidence passage for each field."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from catalog.evidence import AGREEMENT, PUBLIC, normalise, problems
from catalog.models import PolicyFields, PolicyVersion
from catalog.policy import vocabulary
from catalog.policy.vocabulary import CHOICE_FIELDS, FIELD_LABELS, SET_FIELDS
from core.text import split_list

NOT_STATED = [("", "not stated (counts as unknown)")]
LIST_HELP = {
    "certifications": "Comma-separated ids: soc2, iso27001, hipaa, gdpr-dpa, …",
    "regions": "Comma-separated codes: us, eu, uk, apac, …",
}
LIST_VOCABULARY = {"certifications": vocabulary.certification, "regions": vocabulary.region}
# A proposal restarts the review clock: without a new date a stale policy would stay stale.
REVIEW_PERIOD = timedelta(days=365)
COMMENT_REQUIRED = {"required": "A comment is required."}


def _comment_field(label):
    return forms.CharField(
        label=label,
        max_length=2000,
        error_messages=COMMENT_REQUIRED,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("request_changes", "Request changes"),
            ("reject", "Reject"),
        ]
    )
    comment = _comment_field("Comment (required, kept in the review history and audit log)")
    # What the page showed: a decision on a change edited since is refused.
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    shown = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=64)

    def shown_values(self) -> tuple[int, str]:
        return self.cleaned_data["revision"], self.cleaned_data["shown"]


def _tags(value: str) -> list[str]:
    return list(dict.fromkeys(part.lower() for part in split_list(value)))


def _initial(base: PolicyVersion | None) -> dict:
    today = timezone.localdate()
    initial = {"review_due": today + REVIEW_PERIOD}
    if base is None:
        return initial
    for name in PolicyVersion.FIELDS:
        value = getattr(base, name)
        initial[name] = ", ".join(value) if name in SET_FIELDS and value else value
    for name, evidence in base.evidence.items():
        initial[f"evidence_{name}"] = evidence["quote"]
        initial[f"evidence_url_{name}"] = evidence["source_url"]
        initial[f"evidence_basis_{name}"] = evidence["basis"]
        initial[f"evidence_reference_{name}"] = evidence["reference"]
        initial[f"evidence_condition_{name}"] = evidence["condition"]
    if base.review_due and base.review_due > today:
        initial["review_due"] = base.review_due
    return initial


EVIDENCE_PARTS = ("url", "basis", "reference", "condition")
# Which input holds each part of a field's evidence, as `catalog.evidence.problems` names it.
_PART_INPUT = {"source_url": "url", "reference": "reference", "condition": "condition"}
EVIDENCE_FIELDS = tuple(name for name in PolicyVersion.FIELDS if name != "retention_days")


def _evidence_fields(name) -> dict:
    label = FIELD_LABELS[name].lower()
    return {
        f"evidence_{name}": forms.CharField(
            label=f"Evidence: {label}",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text="The provider's own sentence, verbatim.",
        ),
        f"evidence_url_{name}": forms.URLField(
            label=f"Page quoted for {label}",
            required=False,
            max_length=500,
            assume_scheme="https",
            help_text="On one of the provider's own domains; empty: the change's source.",
        ),
        f"evidence_basis_{name}": forms.ChoiceField(
            label=f"Basis of {label}",
            choices=[(PUBLIC, "published by the provider"), (AGREEMENT, "our agreement")],
            required=False,
        ),
        f"evidence_reference_{name}": forms.CharField(
            label=f"Contract reference for {label}",
            required=False,
            max_length=300,
            help_text="With basis “our agreement”.",
        ),
        f"evidence_condition_{name}": forms.CharField(
            label=f"Condition of {label}",
            required=False,
            max_length=1000,
            help_text="Only if the promise holds on a condition; in plain words.",
        ),
    }


class PolicyFieldsForm(forms.Form):
    """A provider default's field values, each with its evidence: the quoted sentence, its page,
    its basis. `base` is the version the values start from; a quote with no page of its own is
    quoted from `evidence_url`."""

    def __init__(
        self, *args, base: PolicyVersion | None, domains=(), evidence_url: str = "", **kwargs
    ):
        super().__init__(*args, initial=_initial(base), **kwargs)
        self.base, self.evidence_url, self.domains = base, evidence_url, tuple(domains)
        for name in PolicyVersion.FIELDS:
            self.fields[name] = self._value_field(name)
            if name in EVIDENCE_FIELDS:
                self.fields.update(_evidence_fields(name))
        self.fields["review_due"] = forms.DateField(
            label="Review due",
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            help_text="After this date the policy counts as stale.",
        )
        self.fields["comment"] = _comment_field("Why (required, kept in the review history)")

    @staticmethod
    def _value_field(name):
        label = FIELD_LABELS[name]
        if name in CHOICE_FIELDS:
            # The stored values themselves ("flagged_only"), as the catalog pages show them.
            stored = vocabulary.values(CHOICE_FIELDS[name])
            choices = NOT_STATED + [(value, value.replace("_", " ")) for value in stored]
            return forms.ChoiceField(label=label, choices=choices, required=False)
        if name == "retention_days":
            return forms.IntegerField(
                label=label, min_value=1, required=False, help_text="Only with retention “days”."
            )
        return forms.CharField(
            label=label, required=False, max_length=300, help_text=LIST_HELP[name]
        )

    def pairs(self):
        """Each policy field next to its evidence inputs (none for retention days, which the
        retention quote carries), for the template."""
        return [
            (self[name], self._evidence_inputs(name) if name in EVIDENCE_FIELDS else [])
            for name in PolicyVersion.FIELDS
        ]

    def _evidence_inputs(self, name):
        return [self[f"evidence_{name}"]] + [
            self[f"evidence_{part}_{name}"] for part in EVIDENCE_PARTS
        ]

    def clean(self):
        data = super().clean()
        for name in CHOICE_FIELDS:
            data[name] = data.get(name) or None
        for name in SET_FIELDS:
            data[name] = self._list_value(name, data.get(name) or "")
        if data.get("retention") != PolicyFields.Retention.DAYS:
            data["retention_days"] = None
        elif not data.get("retention_days"):
            self.add_error("retention_days", "Say how many days, or choose another retention.")
        if not self.errors:
            self._check_evidence(data)
        return data

    def _check_evidence(self, data) -> None:
        """The loader's rule: a value other than unknown is quoted from the provider's own
        domains (or rests on an agreement with its reference), and a provider's default holds
        no conditional promise unless by agreement."""
        values = {name: data.get(name) for name in PolicyVersion.FIELDS}
        found = problems(values, self._evidence(), self.domains, level="provider")
        for path, message in found:
            field, _, part = path.partition(".")
            prefix = "evidence_" if part in ("", "quote") else f"evidence_{_PART_INPUT[part]}_"
            self.add_error(f"{prefix}{field}", f"evidence.{path}: {message}")

    def _list_value(self, name, text):
        """An emptied list stays "none" if the base listed something, "not stated" if not.
        Each value must be in the vocabulary: what a reviewer types reaches public pages."""
        values = []
        for value in _tags(text):
            try:
                values.append(LIST_VOCABULARY[name](value))
            except vocabulary.UnknownValue as exc:
                self.add_error(name, f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        if values or self.errors.get(name):
            return values
        return None if getattr(self.base, name, None) is None else []

    def policy_values(self) -> dict:
        """What `changes.edit_fields` and `changes.manual_change` take."""
        values = {name: self.cleaned_data[name] for name in PolicyVersion.FIELDS}
        values.update(evidence=self._evidence(), review_due=self.cleaned_data["review_due"])
        return values

    def _evidence(self) -> dict:
        """Evidence as entered; an unchanged quote from an unchanged page keeps its capture
        date and corroboration, a new one is captured today."""
        old = self.base.evidence if self.base else {}
        evidence = {k: v for k, v in old.items() if k not in EVIDENCE_FIELDS}
        for name in EVIDENCE_FIELDS:
            entered = self._entered_evidence(name)
            if entered is None:
                continue
            kept = old.get(name)
            same = kept and all(kept[k] == entered[k] for k in ("quote", "source_url"))
            new = normalise(entered, captured=timezone.localdate())
            evidence[name] = {**kept, **entered} if same else new
        return evidence

    def _entered_evidence(self, name) -> dict | None:
        data = self.cleaned_data
        quote = (data.get(f"evidence_{name}") or "").strip()
        if not quote:
            return None
        basis = data.get(f"evidence_basis_{name}") or PUBLIC
        page = data.get(f"evidence_url_{name}") or ("" if basis == AGREEMENT else self.evidence_url)
        item = {
            "quote": quote,
            "source_url": page,
            "basis": basis,
            "reference": (data.get(f"evidence_reference_{name}") or "").strip(),
            "condition": (data.get(f"evidence_condition_{name}") or "").strip(),
        }
        return item
