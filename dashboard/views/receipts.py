from django.core.paginator import Paginator
from django.shortcuts import render

from core.access import account_owner
from core.csv_export import streamed_csv

CSV_COLUMNS = ["time", "key_prefix", "model", "catalog_version", "policy_hash", "eligible"]
PAGE_SIZE = 50


@account_owner
def receipt_list(request):
    page = Paginator(request.account.receipts.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dashboard/receipt_list.html", {"page": page})


def _rows(receipts):
    for receipt in receipts.iterator(chunk_size=2000):
        yield [
            receipt.created.isoformat(),
            receipt.key_prefix,
            receipt.model,
            receipt.catalog_version,
            receipt.policy_hash,
            " ".join(receipt.eligible),
        ]


@account_owner
def receipt_export(request):
    rows = _rows(request.account.receipts.all())
    return streamed_csv(f"receipts-{request.account.slug}.csv", CSV_COLUMNS, rows)
