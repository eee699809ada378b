"""Receipts of `confidential` and `regulated` resolutions (PRODUCT.md §2): metadata only.

A receipt names the key, the model, the catalog version and the eligible endpoints, and pins the
exact effective policy by its hash, so an auditor can check a decision without the console keeping
anything of the request beyond its model.
"""

import hashlib
import json

from dashboard.models import Receipt


def policy_hash(effective) -> str:
    canonical = json.dumps(effective.as_dict(), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_receipt(key, resolution) -> Receipt:
    return Receipt.objects.create(
        account_id=key.account_id,
        key_prefix=key.prefix,
        model=resolution.model,
        catalog_version=resolution.catalog_version,
        policy_hash=policy_hash(resolution.effective),
        eligible=[endpoint.id for endpoint in resolution.eligible],
    )
