from django import forms
from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.models import Provider
from core.access import account_owner
from dashboard import privacy
from dashboard.exceptions import MAX_DURATION, create_exception, revoke_exception

PAST_SHOWN = 50


class ExceptionForm(forms.Form):
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.all(), to_field_name="slug", empty_label="Choose a provider"
    )
    key = forms.ModelChoiceField(
        queryset=None,
        to_field_name="prefix",
        required=False,
        empty_label="The whole account",
        label="For",
    )
    until = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC, at most 90 days ahead.",
    )
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="Kept in the audit log."
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["key"].queryset = account.api_keys.active()

    def clean(self):
        data = super().clean()
        provider, key = data.get("provider"), data.get("key")
        if provider and not _provider_lists_leave_out(self.account, key, provider.slug):
            scope = f"key {key.name}'s guardrail" if key else "the account's settings"
            self.add_error(
                "provider",
                f"Nothing excludes {provider.slug}: {scope} and the account's provider lists "
                "already allow it, so an exception would change nothing. An exception only "
                "re-admits a provider that an excluded or allowed-providers list leaves out; "
                "privacy constraints such as training or retention still apply.",
            )
        return data

    def clean_until(self):
        until, now = self.cleaned_data["until"], timezone.now()
        if until <= now:
            raise forms.ValidationError("Pick a time in the future.")
        if until > now + MAX_DURATION:
            latest = now + MAX_DURATION
            raise forms.ValidationError(f"At most 90 days ahead: {latest:%Y-%m-%d %H:%M} UTC.")
        return until


def _leaves_out(vocabulary: dict | None, provider: str) -> bool:
    if not vocabulary:
        return False
    only = vocabulary.get("only")
    return provider in (vocabulary.get("exclude") or ()) or (
        only is not None and provider not in only
    )


def _provider_lists_leave_out(account, key, provider: str) -> bool:
    """Whether the account's (or the key's) provider lists exclude `provider`: the only thing an
    exception changes."""
    layers = [privacy.defaults_for(account).as_vocabulary()]
    if key is not None and (guardrail := privacy.guardrail_for(key)) is not None:
        layers.append(guardrail.as_vocabulary())
    return any(_leaves_out(vocabulary, provider) for vocabulary in layers)


def _get_exception_for_user(request, pk):
    return get_object_or_404(request.account.exceptions.select_related("key"), pk=pk)


@account_owner
def exception_list(request):
    form = ExceptionForm(request.POST or None, account=request.account)
    context = {"created": None}
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data, "provider": form.cleaned_data["provider"].slug}
        context["created"] = create_exception(request.account, request=request, **data)
        form = ExceptionForm(account=request.account)
    now = timezone.now()
    exceptions = request.account.exceptions.select_related("key", "created_by")
    context.update(
        form=form,
        now=now,
        active=exceptions.active(now),
        past=exceptions.filter(Q(revoked_at__isnull=False) | Q(until__lte=now))[:PAST_SHOWN],
    )
    template = "dashboard/exception_list.html"
    return render(request, f"{template}#exception-panel" if request.htmx else template, context)


@require_POST
@account_owner
def exception_revoke(request, pk):
    exception = _get_exception_for_user(request, pk)
    if revoke_exception(exception, request=request):
        messages.success(request, f"The exception for {exception.provider} is revoked.")
    else:
        messages.warning(request, f"The exception for {exception.provider} had already ended.")
    return redirect("exception_list", account_slug=request.account.slug)
