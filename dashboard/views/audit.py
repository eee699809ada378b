import csv
import json

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render

from ..access import account_member
from ..models import AuditEvent

CSV_COLUMNS = ["time", "actor", "action", "target", "ip_address", "before", "after"]


@account_member(manage=True)
def audit_log(request):
    events = AuditEvent.objects.for_account(request.account)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "dashboard/audit_list.html", {"page": page})


class _Echo:
    def write(self, value):
        return value


def _csv_rows(events):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                event.created.isoformat(),
                event.actor_label,
                event.action,
                event.target,
                event.ip_address or "",
                _json(event.before),
                _json(event.after),
            ]
        )


def _json(value):
    return "" if value is None else json.dumps(value, sort_keys=True)


@account_member(manage=True)
def audit_export(request):
    events = AuditEvent.objects.for_account(request.account)
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv")
    filename = f"audit-{request.account.slug}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
