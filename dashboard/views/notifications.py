from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.access import signed_in
from dashboard.models import Notification
from dashboard.notifications import emailed_kinds, mark_read, set_emailed_kinds

PAGE_SIZE = 30


class EmailPreferencesForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=Notification.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Email me about",
        help_text="Unticked kinds still appear here, without an email.",
    )


def _notifications_of(request):
    return Notification.objects.filter(user=request.user)


def _get_notification_for_user(request, pk):
    return get_object_or_404(_notifications_of(request), pk=pk)


@signed_in
def notification_list(request):
    notifications = _notifications_of(request).select_related("account")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    form = EmailPreferencesForm(initial={"kinds": sorted(emailed_kinds(request.user))})
    return render(request, "dashboard/notification_list.html", {"page": page, "form": form})


@require_POST
@signed_in
def notification_read(request, pk):
    notification = _get_notification_for_user(request, pk)
    mark_read(_notifications_of(request).filter(pk=notification.pk))
    opens = request.POST.get("open") and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}
    )
    return redirect(notification.url if opens else "notification_list")


@require_POST
@signed_in
def notification_read_all(request):
    count = mark_read(_notifications_of(request))
    messages.success(request, f"{count} notification{'' if count == 1 else 's'} marked read.")
    return redirect("notification_list")


@require_POST
@signed_in
def notification_preferences(request):
    form = EmailPreferencesForm(request.POST)
    if form.is_valid():
        set_emailed_kinds(request.user, form.cleaned_data["kinds"], request=request)
        messages.success(request, "Email preferences saved.")
    return redirect("notification_list")
