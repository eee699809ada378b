"""The privacy team's review pages: the queue, one change with its diff, proposed values and
impact, proposals made by hand, and the health of the policy sources with a "refresh now".

Every decision goes through `catalog.changes`; these views only collect the comment and show
the outcome. Nothing here changes the catalog by itself.
"""

import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from catalog import tasks
from catalog.models import (
    Fetch,
    PolicyChange,
    PolicySource,
    PolicyVersion,
    Provider,
    RefreshRun,
    ReviewEvent,
    SourceAlert,
)
from catalog.policy.vocabulary import FIELD_LABELS
from catalog.review import changes
from catalog.review import versions as review
from catalog.review.forms import DecisionForm, PolicyFieldsForm
from catalog.review.history import SHOWN_FIELDS, field_changes
from core.access import privacy_team
from core.outbox import enqueue
from core.text import shown
from dashboard.policy import impact_of

QUEUE_PAGE_SIZE = 50
RUN_SHOWN_FOR = timedelta(hours=1)
Status = PolicyChange.Status
STATUS_FILTERS = {
    "pending": ("Awaiting a decision", list(PolicyChange.OPEN_STATUSES)),
    "open": ("Open", [Status.OPEN]),
    "changes_requested": ("Changes requested", [Status.CHANGES_REQUESTED]),
    "approved": ("Approved", [Status.APPROVED]),
    "rejected": ("Rejected", [Status.REJECTED]),
    "all": ("All", None),
}
KIND_FILTERS = {"": "Material and editorial", "material": "Material", "editorial": "Editorial"}
DECISIONS = {
    "approve": (changes.approve, "Approved: the catalog now uses these values."),
    "reject": (changes.reject, "Rejected: the catalog is unchanged."),
    "request_changes": (changes.request_changes, "Changes requested."),
}
DECISION_ERRORS = (changes.ChangeDecisionError, review.ReviewError)
SHOWN_LABELS = {**FIELD_LABELS, "source_url": "Source", "review_due": "Review due"}


# --- The queue ----------------------------------------------------------------------------------


def _queue_filters(request) -> dict:
    status, kind = request.GET.get("status", "pending"), request.GET.get("kind", "")
    return {
        "provider": request.GET.get("provider", "")[:60],
        "status": status if status in STATUS_FILTERS else "pending",
        "kind": kind if kind in KIND_FILTERS else "",
    }


def _queue_changes(filters):
    comments = (
        ReviewEvent.objects.filter(change=OuterRef("pk"))
        .order_by()
        .values("change")
        .annotate(n=Count("pk"))
        .values("n")
    )
    found = PolicyChange.objects.select_related("provider", "source").defer("diff")
    found = found.annotate(
        comments=Coalesce(Subquery(comments, output_field=IntegerField()), Value(0))
    )
    if statuses := STATUS_FILTERS[filters["status"]][1]:
        found = found.filter(status__in=statuses)
    if filters["provider"]:
        found = found.filter(provider__slug=filters["provider"])
    if filters["kind"]:
        found = found.filter(material=filters["kind"] == "material")
    return found.order_by("-created", "-id")


@privacy_team
def review_queue(request):
    filters = _queue_filters(request)
    page = Paginator(_queue_changes(filters), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "catalog/review_queue.html#changes", context)
    context.update(
        providers=Provider.objects.only("slug", "name"),
        status_filters={key: label for key, (label, _) in STATUS_FILTERS.items()},
        kind_filters=KIND_FILTERS,
        stale=changes.stale_policies(),
        alerts=SourceAlert.objects.open().select_related("source__provider").order_by("-updated"),
    )
    return render(request, "catalog/review_queue.html", context)


# --- One change ---------------------------------------------------------------------------------


def diff_columns(diff) -> tuple[list, list]:
    """`change.diff` as two columns of (kind, words): the text before with its deletions
    ("del"), the text after with its insertions ("ins"); unchanged runs ("same") in both."""
    before, after = [], []
    for op, old, new in diff:
        if op == "equal":
            before.append(("same", old))
            after.append(("same", new))
            continue
        if old:
            before.append(("del", old))
        if new:
            after.append(("ins", new))
    return before, after


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    current: str | None
    proposed: str | None
    changed: bool
    evidence: dict | None


def _baseline_of(version: PolicyVersion) -> PolicyVersion | None:
    """What the proposal is compared with: the current values, or for an approved proposal
    the approved version it replaced."""
    if version.status != PolicyVersion.Status.APPROVED:
        return review.current_version(version.provider, version.endpoint)
    earlier = PolicyVersion.objects.approved().filter(
        provider=version.provider_id, endpoint=version.endpoint_id, number__lt=version.number
    )
    return earlier.order_by("-number").first()


def field_rows(baseline: PolicyVersion | None, version: PolicyVersion) -> list[FieldRow]:
    changed = {c.field for c in field_changes(baseline, version)}
    return [
        FieldRow(
            name,
            SHOWN_LABELS[name],
            shown(getattr(baseline, name, None), missing=None),  # the page says "not stated"
            shown(getattr(version, name), missing=None),
            name in changed,
            version.evidence.get(name),
        )
        for name in SHOWN_FIELDS
    ]


def _get_change(pk) -> PolicyChange:
    related = ("provider", "source", "version__proposed_by", "version__provider")
    return get_object_or_404(PolicyChange.objects.select_related(*related), pk=pk)


def _edit_form(change, data=None) -> PolicyFieldsForm:
    version = change.version
    if version is None or version.status == PolicyVersion.Status.REJECTED:
        version = review.current_version(change.provider)
    url = change.source.url if change.source else getattr(version, "source_url", "")
    # auto_id: the decision form on the same page has a "comment" field too.
    return PolicyFieldsForm(
        data,
        base=version,
        domains=change.provider.domains,
        evidence_url=url,
        auto_id="edit_%s",
    )


def _proposal_context(change) -> dict:
    version = change.version
    if version is None:
        return {}
    baseline = _baseline_of(version)
    proposed = version.status == PolicyVersion.Status.PROPOSED
    today = timezone.localdate()
    return {
        "baseline": baseline,
        "field_rows": field_rows(baseline, version),
        "impact": impact_of(version, today) if proposed and change.is_open else None,
    }


def _detail_context(request, change, edit_form=None) -> dict:
    version = change.version
    before, after = diff_columns(change.diff)
    edited_by_me = bool(
        version
        and version.status == PolicyVersion.Status.PROPOSED
        and version.proposed_by_id == request.user.pk
    )
    return {
        "change": change,
        "before": before,
        "after": after,
        "pending": change.is_open,
        "edited_by_me": edited_by_me,
        "events": change.events.select_related("author"),
        "decision_form": DecisionForm(
            initial={"revision": change.revision, "shown": changes.shown_hash(change)}
        ),
        "edit_form": edit_form or _edit_form(change),
        **_proposal_context(change),
    }


@privacy_team
def change_detail(request, pk):
    change = _get_change(pk)
    return render(request, "catalog/change_detail.html", _detail_context(request, change))


def _back_to(request, change):
    url = reverse("change_detail", args=[change.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@require_POST
@privacy_team
def change_decide(request, pk):
    change = _get_change(pk)
    form = DecisionForm(request.POST)
    if not change.is_open:  # decided in another tab: say so, whatever the form holds
        messages.error(request, f"This change is already {change.status}.")
        return _back_to(request, change)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to(request, change)
    decide, done = DECISIONS[form.cleaned_data["action"]]
    try:
        comment, shown = form.cleaned_data["comment"], form.shown_values()
        decide(change, request.user, comment, shown=shown, request=request)
    except DECISION_ERRORS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _back_to(request, change)


@require_POST
@privacy_team
def change_edit(request, pk):
    change = _get_change(pk)
    form = _edit_form(change, request.POST)
    if not form.is_valid():
        context = _detail_context(request, change, edit_form=form)
        return render(request, "catalog/change_detail.html", context)
    comment = form.cleaned_data["comment"]
    try:
        changes.edit_fields(change, request.user, form.policy_values(), comment, request=request)
    except DECISION_ERRORS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Field values saved. Another reviewer must approve them.")
    return _back_to(request, change)


@privacy_team
def manual_change(request, slug):
    provider = get_object_or_404(Provider, slug=slug)
    current = review.current_version(provider)
    url = current.source_url if current else ""
    form = PolicyFieldsForm(
        request.POST or None, base=current, domains=provider.domains, evidence_url=url
    )
    if request.method == "POST" and form.is_valid():
        comment = form.cleaned_data["comment"]
        try:
            change = changes.manual_change(
                provider, request.user, form.policy_values(), comment, request=request
            )
        except DECISION_ERRORS as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Proposed. Another reviewer must approve it.")
            return redirect("change_detail", change.pk)
    context = {"provider": provider, "current": current, "form": form}
    return render(request, "catalog/manual_change.html", context)


# --- Sources and "refresh now" ------------------------------------------------------------------


def _sources_with_latest_fetch():
    latest = Fetch.objects.filter(source=OuterRef("pk")).order_by("-created", "-id")
    return PolicySource.objects.select_related("provider").annotate(
        latest_outcome=Subquery(latest.values("outcome")[:1]),
        latest_fetch_at=Subquery(latest.values("created")[:1]),
        latest_status=Subquery(latest.values("status")[:1]),
    )


@privacy_team
def source_list(request):
    # A run still going (begun here or in another tab) keeps showing its progress bar.
    recent = timezone.now() - RUN_SHOWN_FOR
    context = {
        "sources": _sources_with_latest_fetch(),
        "run": RefreshRun.objects.running(since=recent).order_by("-created").first(),
        "outcome_labels": dict(Fetch.Outcome.choices),
    }
    return render(request, "catalog/source_list.html", context)


@require_POST
@privacy_team
def refresh_now(request):
    ids = list(PolicySource.objects.filter(enabled=True).values_list("pk", flat=True))
    if not ids:
        messages.warning(request, "No enabled source to refresh.")
        url = reverse("source_list")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    with transaction.atomic():  # the run and its task's outbox row, together
        run = RefreshRun.objects.create(total=len(ids), started_by=request.user)
        start_refresh_run(run, ids)
    if not request.htmx:
        return redirect("refresh_progress", run.pk)
    run.refresh_from_db()  # an eager task may already have finished it
    return render(request, "catalog/refresh_progress.html#progress", {"run": run})


def start_refresh_run(run: RefreshRun, ids: list[int]) -> None:
    """With a worker, the run is its task. On the embedded default tasks run in-process, and a
    refresh of every source takes minutes: it runs in a thread of its own, and the page polls
    its progress bar as it would a worker's."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        enqueue(tasks.refresh_run, run.pk, ids)
        return
    thread = threading.Thread(
        target=_run_in_background, args=(run.pk, ids), name=f"refresh-run-{run.pk}", daemon=True
    )
    transaction.on_commit(thread.start)


def _run_in_background(run_id: int, ids: list[int]) -> None:
    try:
        tasks.refresh_run(run_id, ids)
    finally:
        connection.close()  # the thread's own connection


@privacy_team
def refresh_progress(request, pk):
    run = get_object_or_404(RefreshRun, pk=pk)
    if not request.htmx:
        return render(request, "catalog/refresh_progress.html", {"run": run})
    if run.finished_at is None:
        return render(request, "catalog/refresh_progress.html#progress", {"run": run})
    html = render_to_string("catalog/refresh_progress.html#progress", {"run": run}, request)
    return HttpResponseStopPolling(html)
