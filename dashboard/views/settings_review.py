from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core.access import account_member
from dashboard import settings_review


@require_POST
@account_member(manage=True)
def privacy_confirm(request):
    """One click: the settings were looked at and are still right."""
    settings_review.mark_reviewed(request.account, settings_review.How.CONFIRMED, request=request)
    messages.success(request, "Confirmed: the privacy settings are reviewed and unchanged.")
    return redirect("privacy_settings", account_slug=request.account.slug)
