from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from core.access import account_member
from dashboard.apikeys import create_key, revoke_key
from dashboard.forms import ApiKeyForm
from usage.recent import RECENT_DAYS, requests_by_model


@account_member(managers_write="Only owners and admins create keys.")
def key_list(request):
    form = ApiKeyForm(request.POST or None)
    context = {"form": form, "created_secret": None}
    if request.method == "POST" and form.is_valid():
        key, secret = create_key(account=request.account, request=request, **form.cleaned_data)
        context.update(created_key=key, created_secret=secret, form=ApiKeyForm())
    context["keys"] = request.account.api_keys.select_related("created_by")
    template = "dashboard/key_list.html#key-panel" if request.htmx else "dashboard/key_list.html"
    return render(request, template, context)


@account_member(manage=True)
def key_revoke(request, prefix):
    """Asks first, saying what stops working; revokes only a POST that confirms."""
    key = get_object_or_404(request.account.api_keys.active(), prefix=prefix)
    if request.method != "POST" or not request.POST.get("confirmed"):
        recent = sum(requests_by_model(request.account, api_key=key).values())
        context = {"key": key, "recent": recent, "days": RECENT_DAYS}
        return render(request, "dashboard/key_revoke.html", context)
    revoke_key(key, request=request)
    messages.success(request, f"Key {key.name} ({key.prefix}…) revoked. It stops working now.")
    return redirect("key_list", account_slug=request.account.slug)
