from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.access import account_owner
from dashboard import audit
from usage.account_data import delete_usage, export_zip, usage_summary


class DeleteUsageForm(forms.Form):
    confirm = forms.CharField(max_length=50, strip=True)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["confirm"].label = f"Type {account.slug} to confirm"
        self.fields["confirm"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_confirm(self):
        if self.cleaned_data["confirm"] != self.account.slug:
            raise forms.ValidationError(f"Type {self.account.slug} exactly to delete.")
        return self.cleaned_data["confirm"]


def _page(request, form):
    context = {
        "summary": usage_summary(request.account),
        "form": form,
        "retention_days": settings.USAGE_RAW_RETENTION_DAYS,
        "min_accounts": settings.USAGE_RANKING_MIN_ACCOUNTS,
    }
    return render(request, "usage/usage_data.html", context)


@account_owner
def usage_data(request):
    return _page(request, DeleteUsageForm(account=request.account))


@account_owner
def usage_export(request):
    response = StreamingHttpResponse(export_zip(request.account), content_type="application/zip")
    filename = f"usage-{request.account.slug}-{timezone.now():%Y%m%d-%H%M}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@account_owner
def usage_delete(request):
    form = DeleteUsageForm(request.POST, account=request.account)
    if not form.is_valid():
        return _page(request, form)
    with transaction.atomic():
        counts = delete_usage(request.account)
        audit.record(
            "usage.deleted",
            account=request.account,
            request=request,
            target=request.account.slug,
            before=counts,
        )
    messages.success(request, f"Deleted {sum(counts.values()):,} rows of usage metadata.")
    return redirect("usage_data", account_slug=request.account.slug)
