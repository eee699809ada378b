"""The account's side of privacy inquiries: ask, read the answers, reply, close.

An owner sees every inquiry of the account, anyone else only their own; another account's, or
another member's, is a 404 like any object the user may not see.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from catalog.models import Endpoint, Provider
from core.access import account_member, signed_in
from dashboard import inquiries
from dashboard.inquiry_forms import InquiryForm, ReplyForm
from dashboard.models import Inquiry, Membership, Role

PAGE_SIZE = 30
RELATED = ("author", "provider", "endpoint__model", "endpoint__provider", "change__provider")
PREFILL = ("provider", "endpoint", "change")


def _get_inquiry_for_user(request, pk) -> Inquiry:
    visible = Inquiry.objects.visible_to(request.membership).select_related(*RELATED)
    return get_object_or_404(visible, pk=pk)


def _may_close(request, inquiry) -> bool:
    return request.membership.role == Role.OWNER or inquiry.author_id == request.user.pk


@account_member
def inquiry_list(request):
    visible = Inquiry.objects.visible_to(request.membership).select_related(*RELATED)
    replies = Count("messages", filter=Q(messages__internal=False))
    rows = visible.annotate(replies=replies).order_by("-updated", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "sees_all": request.membership.role == Role.OWNER}
    return render(request, "dashboard/inquiry_list.html", context)


def _endpoint_named(endpoint_id: str):
    model, _, provider = endpoint_id.rpartition("@")
    return Endpoint.objects.filter(model__slug=model, provider__slug=provider).first()


def _prefilled(query) -> dict:
    """Initial values from a "question about this policy" link: ?provider=, ?endpoint=, ?change=."""
    initial = {}
    if endpoint := _endpoint_named(query.get("endpoint", "")[:200]):
        initial |= {"endpoint": endpoint.pk, "provider": endpoint.provider.slug}
        initial["subject"] = f"Question about the policy of {endpoint.endpoint_id}"
    elif provider := Provider.objects.filter(slug=query.get("provider", "")[:60]).first():
        initial |= {"provider": provider.slug}
        initial["subject"] = f"Question about the policy of {provider.name}"
    if query.get("change", "").isdigit():
        initial["change"] = int(query["change"])
    return initial


@account_member
def inquiry_new(request):
    form = InquiryForm(request.POST or None, initial=_prefilled(request.GET))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        inquiry = inquiries.open_inquiry(
            request.membership,
            data["subject"],
            data["message"],
            provider=data["provider"],
            endpoint=data["endpoint"],
            change=data["change"],
            request=request,
        )
        messages.success(request, "Sent to the privacy team. You will be notified of the answer.")
        return redirect("inquiry_detail", account_slug=request.account.slug, pk=inquiry.pk)
    return render(request, "dashboard/inquiry_form.html", {"form": form})


def _detail(request, inquiry, form=None):
    context = {
        "inquiry": inquiry,
        "thread": inquiry.messages.filter(internal=False).select_related("author"),
        "form": form or ReplyForm(),
        "may_close": _may_close(request, inquiry),
        "team_label": inquiries.TEAM_LABEL,
        "retention_days": settings.INQUIRY_RETENTION_DAYS,
    }
    return render(request, "dashboard/inquiry_detail.html", context)


@account_member
def inquiry_detail(request, pk):
    return _detail(request, _get_inquiry_for_user(request, pk))


@require_POST
@account_member
def inquiry_reply(request, pk):
    inquiry = _get_inquiry_for_user(request, pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail(request, inquiry, form)
    inquiries.customer_reply(inquiry, request.user, form.cleaned_data["message"], request=request)
    messages.success(request, "Reply sent to the privacy team.")
    return redirect("inquiry_detail", account_slug=request.account.slug, pk=inquiry.pk)


@require_POST
@account_member
def inquiry_close(request, pk):
    inquiry = _get_inquiry_for_user(request, pk)
    if not _may_close(request, inquiry):
        return render(
            request, "403.html", {"message": "Only the author or an owner closes it."}, status=403
        )
    if inquiries.close(inquiry, request.user, by_team=False, request=request):
        messages.success(request, "Inquiry closed. Reply to it if you need to reopen it.")
    return redirect("inquiry_detail", account_slug=request.account.slug, pk=inquiry.pk)


@signed_in
def inquiry_start(request):
    """A "question about this policy" link from a public catalog page: on to the form of the
    current account, or let someone with several accounts choose."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("account"))
    query = {name: request.GET[name] for name in PREFILL if request.GET.get(name)}
    current = request.session.get("current_account")
    target = next((m for m in memberships if m.account.slug == current), None)
    target = target or (memberships[0] if len(memberships) == 1 else None)
    if target:
        return redirect(_form_url(target.account.slug, query))
    links = [(m.account, _form_url(m.account.slug, query)) for m in memberships]
    return render(request, "dashboard/inquiry_start.html", {"links": links})


def _form_url(slug, query) -> str:
    url = reverse("inquiry_new", args=[slug])
    return f"{url}?{urlencode(query)}" if query else url
