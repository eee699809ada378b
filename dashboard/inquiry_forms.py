"""Forms of the privacy inquiries: asking, replying, and the team's inbox controls.

Every text is plain text with a length cap; pages render it escaped and never as markup.
"""

from django import forms
from django.db.models import Subquery

from catalog.models import Endpoint, PolicyChange, Provider
from dashboard.inquiries import MAX_MESSAGE, MAX_SUBJECT, privacy_team
from dashboard.models import Inquiry

# Approved changes offered as "related catalog change", newest first.
RECENT_CHANGES = 50
NO_SECRETS = (
    "Do not paste prompts, responses, API keys or your customers' data: the privacy team never "
    "needs them to answer. Text only, up to {limit:,} characters."
)


def message_field(label="Message"):
    return forms.CharField(
        label=label,
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_MESSAGE}),
        help_text=NO_SECRETS.format(limit=MAX_MESSAGE),
    )


class EndpointChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.endpoint_id


class ChangeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        summary = obj.summary or "policy values updated"
        return f"#{obj.pk} {obj.provider.name}: {summary[:80]} ({obj.created:%Y-%m-%d})"


def _recent_changes():
    approved = PolicyChange.objects.filter(status=PolicyChange.Status.APPROVED)
    recent = approved.order_by("-created", "-id").values("pk")[:RECENT_CHANGES]
    return (
        PolicyChange.objects.filter(pk__in=Subquery(recent))
        .select_related("provider")
        .defer("diff", "evidence_missing")
        .order_by("-created", "-id")
    )


class InquiryForm(forms.Form):
    subject = forms.CharField(max_length=MAX_SUBJECT)
    message = message_field()
    provider = forms.ModelChoiceField(
        Provider.objects.only("slug", "name").order_by("name"),
        required=False,
        to_field_name="slug",
        empty_label="None",
        label="Related provider (optional)",
    )
    endpoint = EndpointChoiceField(
        Endpoint.objects.select_related("model", "provider"),
        required=False,
        empty_label="None",
        label="Related endpoint (optional)",
    )
    change = ChangeChoiceField(
        _recent_changes(),
        required=False,
        empty_label="None",
        label="Related catalog change (optional)",
    )

    def clean(self):
        cleaned = super().clean()
        endpoint = cleaned.get("endpoint")
        if endpoint and not cleaned.get("provider"):
            cleaned["provider"] = endpoint.provider
        return cleaned


class ReplyForm(forms.Form):
    message = message_field("Your reply")


class TeamReplyForm(forms.Form):
    message = forms.CharField(
        label="Answer or internal note",
        max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_MESSAGE}),
        help_text="An answer goes to the customer; an internal note stays in the team.",
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        privacy_team().order_by("email"), required=False, empty_label="Nobody", label="Assigned to"
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Inquiry.Status.choices)


class ProposeForm(forms.Form):
    provider = forms.ModelChoiceField(
        Provider.objects.only("slug", "name").order_by("name"),
        to_field_name="slug",
        label="Provider",
    )
