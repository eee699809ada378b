"""The review pages' forms: a decision with its comment, and proposed field values with the
evidence passage for each field."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from catalog.models import PolicyFields, PolicyVersion
from catalog.policy import vocabulary
from catalog.policy.vocabulary import CHOICE_FIELDS, FIELD_LABELS, SET_FIELDS

NOT_STATED = [("", "not stated (counts as unknown)")]
LIST_HELP = {
    "certifications": "Comma-separated ids: soc2, iso27001, hipaa, gdpr-dpa, …",
    "regions": "Comma-separated codes: us, eu, uk, apac, …",
}
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


def _split(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))


def _initial(base: PolicyVersion | None) -> dict:
    today = timezone.localdate()
    initial = {"review_due": today + REVIEW_PERIOD}
    if base is None:
        return initial
    for name in PolicyVersion.FIELDS:
        value = getattr(base, name)
        initial[name] = ", ".join(value) if name in SET_FIELDS and value else value
    for name, evidence in base.evidence.items():
        initial[f"evidence_{name}"] = evidence.get("passage", "")
    if base.review_due and base.review_due > today:
        initial["review_due"] = base.review_due
    return initial


class PolicyFieldsForm(forms.Form):
    """A provider default's field values, each with its evidence passage. `base` is the version
    the values start from; new passages are quoted from `evidence_url`."""

    def __init__(self, *args, base: PolicyVersion | None, evidence_url: str = "", **kwargs):
        super().__init__(*args, initial=_initial(base), **kwargs)
        self.base, self.evidence_url = base, evidence_url
        for name in PolicyVersion.FIELDS:
            self.fields[name] = self._value_field(name)
            self.fields[f"evidence_{name}"] = forms.CharField(
                label=f"Evidence: {FIELD_LABELS[name].lower()}",
                required=False,
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
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
        """Each policy field next to its evidence passage, for the template."""
        return [(self[name], self[f"evidence_{name}"]) for name in PolicyVersion.FIELDS]

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
        return data

    def _list_value(self, name, text):
        """An emptied list stays "none" if the base listed something, "not stated" if not."""
        values = _split(text)
        if values:
            return values
        return None if getattr(self.base, name, None) is None else []

    def policy_values(self) -> dict:
        """What `changes.edit_fields` and `changes.manual_change` take."""
        values = {name: self.cleaned_data[name] for name in PolicyVersion.FIELDS}
        values.update(evidence=self._evidence(), review_due=self.cleaned_data["review_due"])
        return values

    def _evidence(self) -> dict:
        old = self.base.evidence if self.base else {}
        evidence = {k: v for k, v in old.items() if k not in PolicyVersion.FIELDS}
        for name in PolicyVersion.FIELDS:
            passage = self.cleaned_data[f"evidence_{name}"]
            if not passage:
                continue
            kept = old.get(name)
            if kept and kept.get("passage", "").strip() == passage:
                evidence[name] = kept
            else:
                evidence[name] = {"passage": passage, "url": self.evidence_url}
        return evidence
