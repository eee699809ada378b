import json

from django.core.paginator import Paginator
from django.shortcuts import render

from core.access import account_member
from core.csv_export import streamed_csv
from dashboard.models import AuditEvent

CSV_COLUMNS = ["time", "actor", "action", "target", "ip_address", "before", "after"]


@account_member(manage=True)
def audit_log(request):
    events = AuditEvent.objects.for_account(request.account)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "dashboard/audit_list.html", {"page": page})


def _rows(events):
    for event in events.iterator(chunk_size=2000):
        yield [
            event.created.isoformat(),
            event.actor_label,
            event.action,
            event.target,
            event.ip_address or "",
            _json(event.before),
            _json(event.after),
        ]


def _json(value):
    return "" if value is None else json.dumps(value, sort_keys=True)


@account_member(manage=True)
def audit_export(request):
    events = AuditEvent.objects.for_account(request.account)
    return streamed_csv(f"audit-{request.account.slug}.csv", CSV_COLUMNS, _rows(events))
