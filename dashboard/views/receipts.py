import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render

from .exceptions import account_owner

CSV_COLUMNS = ["time", "key_prefix", "model", "catalog_version", "policy_hash", "eligible"]
PAGE_SIZE = 50


@account_owner
def receipt_list(request):
    page = Paginator(request.account.receipts.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dashboard/receipt_list.html", {"page": page})


class _Echo:
    def write(self, value):
        return value


def _csv_rows(receipts):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for receipt in receipts.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                receipt.created.isoformat(),
                receipt.key_prefix,
                receipt.model,
                receipt.catalog_version,
                receipt.policy_hash,
                " ".join(receipt.eligible),
            ]
        )


@account_owner
def receipt_export(request):
    response = StreamingHttpResponse(
        _csv_rows(request.account.receipts.all()), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="receipts-{request.account.slug}.csv"'
    return response
