"""The privacy team's inbox beside the review queue: every account's inquiries by status,
assignment, answers and internal notes, and the step from a good question to a proposal."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.access import privacy_team
from dashboard import inquiries
from dashboard.inquiry_forms import AssignForm, ProposeForm, StatusForm, TeamReplyForm
from dashboard.models import Inquiry

PAGE_SIZE = 50
Status = Inquiry.Status
ASSIGNED_FILTERS = {"": "Anyone", "me": "Me", "nobody": "Nobody"}
RELATED = (
    "account",
    "author",
    "assignee",
    "provider",
    "endpoint__model",
    "endpoint__provider",
    "change__provider",
)


def _filters(request) -> dict:
    status, assigned = request.GET.get("status", Status.OPEN), request.GET.get("assigned", "")
    return {
        "status": status if status in Status.values else Status.OPEN,
        "assigned": assigned if assigned in ASSIGNED_FILTERS else "",
    }


def _inbox_rows(request, filters):
    rows = Inquiry.objects.filter(status=filters["status"]).select_related(*RELATED)
    if filters["assigned"] == "me":
        rows = rows.filter(assignee=request.user)
    elif filters["assigned"] == "nobody":
        rows = rows.filter(assignee__isnull=True)
    replies = Count("messages", filter=Q(messages__internal=False))
    return rows.annotate(replies=replies).order_by("-updated", "-id")


def _tab_counts() -> dict:
    counts = Inquiry.objects.aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in Status.values}
    )
    return [(status, label, counts[status]) for status, label in Status.choices]


@privacy_team
def inbox(request):
    filters = _filters(request)
    page = Paginator(_inbox_rows(request, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "tabs": _tab_counts(),
        "assigned_filters": ASSIGNED_FILTERS,
    }
    return render(request, "dashboard/inquiry_inbox.html", context)


def _get_inquiry(pk) -> Inquiry:
    return get_object_or_404(Inquiry.objects.select_related(*RELATED), pk=pk)


def _related_provider(inquiry):
    if inquiry.provider_id:
        return inquiry.provider
    if inquiry.endpoint_id:
        return inquiry.endpoint.provider
    return inquiry.change.provider if inquiry.change_id else None


def _review_page(request, inquiry, reply_form=None, status=200):
    provider = _related_provider(inquiry)
    context = {
        "inquiry": inquiry,
        "thread": inquiry.messages.select_related("author"),
        "reply_form": reply_form or TeamReplyForm(),
        "assign_form": AssignForm(initial={"assignee": inquiry.assignee_id}),
        "status_form": StatusForm(initial={"status": inquiry.status}),
        "propose_form": ProposeForm(initial={"provider": provider.slug if provider else None}),
        "statuses": Status.choices,
    }
    return render(request, "dashboard/inquiry_review.html", context, status=status)


@privacy_team
def inbox_detail(request, pk):
    return _review_page(request, _get_inquiry(pk))


@require_POST
@privacy_team
def inbox_reply(request, pk):
    inquiry = _get_inquiry(pk)
    form = TeamReplyForm(request.POST)
    if not form.is_valid():
        return _review_page(request, inquiry, form, status=400)
    body, note = form.cleaned_data["message"], request.POST.get("action") == "note"
    try:
        if note:
            inquiries.add_note(inquiry, request.user, body, request=request)
        else:
            inquiries.team_reply(inquiry, request.user, body, request=request)
    except inquiries.InquiryClosed as exc:
        messages.error(request, str(exc))
        return _review_page(request, inquiry, form, status=409)
    messages.success(request, "Internal note added." if note else "Answer sent to the customer.")
    return redirect("inbox_detail", pk=inquiry.pk)


@require_POST
@privacy_team
def inbox_assign(request, pk):
    inquiry = _get_inquiry(pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        assignee = form.cleaned_data["assignee"]
        if inquiries.assign(inquiry, request.user, assignee, request=request):
            who = assignee.email if assignee else "nobody"
            messages.success(request, f"Assigned to {who}.")
    return redirect("inbox_detail", pk=inquiry.pk)


@require_POST
@privacy_team
def inbox_status(request, pk):
    inquiry = _get_inquiry(pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        status = form.cleaned_data["status"]
        if inquiries.set_status(inquiry, request.user, status, request=request):
            messages.success(request, f"Now: {Status(status).label.lower()}.")
    return redirect("inbox_detail", pk=inquiry.pk)


@require_POST
@privacy_team
def inbox_propose(request, pk):
    """Turn a good question into a manual catalog proposal for a provider."""
    inquiry = _get_inquiry(pk)
    form = ProposeForm(request.POST)
    if not form.is_valid():
        return redirect("inbox_detail", pk=inquiry.pk)
    provider = form.cleaned_data["provider"]
    inquiries.record_proposal(inquiry, request.user, provider, request=request)
    return redirect("manual_change", slug=provider.slug)
