"""Refreshing one policy source: fetch it safely, keep the snapshot, extract the text, and turn
a real difference into a proposal. Nothing here changes the catalog itself."""

import hashlib
import json
import zlib
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.evidence import normalise
from catalog.models import (
    Fetch,
    PolicyChange,
    PolicySource,
    PolicyVersion,
    Snapshot,
    SourceAlert,
    SourceText,
)
from catalog.refresh import diffing
from catalog.refresh.fetcher import (
    ExtractionError,
    FetchError,
    FetchPolicy,
    fetch,
    normalize_html,
    normalize_json,
)
from catalog.review.versions import current_version, propose

FETCHED, UNCHANGED, CHANGED, FAILED = "fetched", "unchanged", "changed", "failed"


def fetch_policy(source: PolicySource) -> FetchPolicy:
    policy = FetchPolicy(
        allow_private_hosts=frozenset(host.lower() for host in settings.FETCH_ALLOW_PRIVATE_HOSTS)
    )
    if settings.FETCH_ALLOWED_PORTS:
        policy = replace(policy, allowed_ports=frozenset(settings.FETCH_ALLOWED_PORTS))
    return policy


def store_snapshot(body: bytes, content_type: str) -> Snapshot:
    """Bodies are stored once per content hash, compressed."""
    content_hash = hashlib.sha256(body).hexdigest()
    existing = Snapshot.objects.filter(content_hash=content_hash).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Snapshot.objects.create(
                content_hash=content_hash,
                body=zlib.compress(body, 6),
                size=len(body),
                content_type=content_type[:120],
            )
    except IntegrityError:  # another worker stored the same body a moment ago
        return Snapshot.objects.get(content_hash=content_hash)


def snapshot_body(snapshot: Snapshot) -> bytes:
    return zlib.decompress(bytes(snapshot.body))


def extract(source: PolicySource, body: bytes) -> str:
    if source.kind == PolicySource.Kind.JSON:
        return json.dumps(normalize_json(body), sort_keys=True, indent=1)
    return normalize_html(
        body,
        select=source.select or None,
        remove=list(source.remove),
        strip_params=list(source.strip_params),
    )


def store_text(source: PolicySource, snapshot: Snapshot, text: str) -> SourceText:
    return SourceText.objects.create(
        source=source,
        snapshot=snapshot,
        text=text,
        text_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def latest_text(source: PolicySource) -> SourceText | None:
    """What a new fetch is compared with: the newest undecided change, else the baseline."""
    pending = source.changes.open().select_related("after").first()
    return pending.after if pending else source.baseline


def refresh_source(source_id: int) -> str:
    source = PolicySource.objects.get(pk=source_id)
    try:
        result = fetch(
            source.url,
            policy=fetch_policy(source),
            etag=source.etag or None,
            last_modified=source.last_modified or None,
        )
    except FetchError as exc:
        if exc.kind == "rate_limited":
            _postpone(source, exc.retry_after)
        return _record_failure(source, str(exc), status=exc.status)
    if result.not_modified:
        _record_success(source, result, None, Fetch.Outcome.NOT_MODIFIED)
        return UNCHANGED
    snapshot = store_snapshot(result.body, result.headers.get("content-type", ""))
    try:
        text = extract(source, result.body)
    except ExtractionError as exc:
        return _record_failure(source, f"extraction: {exc}", status=result.status)
    return _compare(source, result, snapshot, text)


@transaction.atomic
def _compare(source, result, snapshot, text) -> str:
    source = PolicySource.objects.select_for_update().get(pk=source.pk)
    previous = latest_text(source)
    text_hash = hashlib.sha256(text.encode()).hexdigest()
    if previous is not None and previous.text_hash == text_hash:
        _record_success(source, result, snapshot, Fetch.Outcome.UNCHANGED)
        return UNCHANGED
    stored = store_text(source, snapshot, text)
    if source.baseline_id is None:
        source.baseline = stored
        _record_success(source, result, snapshot, Fetch.Outcome.BASELINE)
        return FETCHED
    propose_change(source, previous, stored)
    _record_success(source, result, snapshot, Fetch.Outcome.CHANGED)
    return CHANGED


def propose_change(source, before: SourceText, after: SourceText) -> PolicyChange:
    diff = diffing.word_diff(before.text, after.text)
    missing = evidence_missing(source, after.text)
    version = _proposed_version(source, after) if source.kind == PolicySource.Kind.JSON else None
    return PolicyChange.objects.create(
        source=source,
        provider=source.provider,
        before=before,
        after=after,
        version=version,
        diff=diff,
        evidence_missing=missing,
        summary=diffing.summary(diff),
        material=bool(missing) or version is not None or diffing.is_material(diff),
    )


def evidence_missing(source, text: str) -> list[str]:
    """Approved fields quoted from this source whose passage the new text no longer has."""
    missing = []
    for version in PolicyVersion.objects.current().filter(provider=source.provider):
        for field, evidence in sorted(version.evidence.items()):
            item = normalise(evidence, version.source_url)
            quoted_here = item["source_url"] == source.url
            if quoted_here and not diffing.passage_found(item["quote"], text):
                missing.append(f"{version.subject}: {field}")
    return missing


def _proposed_version(source, after: SourceText) -> PolicyVersion | None:
    """A JSON source states field values outright: they become a proposed version."""
    document = json.loads(after.text)
    fields = document.get("policy", {})
    current = current_version(source.provider)
    content = {
        name: getattr(current, name) if current else None for name in PolicyVersion.CONTENT_FIELDS
    }
    content.update({name: fields.get(name) for name in PolicyVersion.FIELDS if name in fields})
    content.update(source_url=source.url, evidence=_json_evidence(document, source.url))
    if current is not None and all(getattr(current, k) == v for k, v in content.items()):
        return None
    return propose(source.provider, None, content, origin="refresh")


def _json_evidence(document: dict, url: str) -> dict:
    return {
        field: normalise(str(passage), url, timezone.localdate())
        for field, passage in sorted(document.get("evidence", {}).items())
    }


def _record_success(source, result, snapshot, outcome) -> None:
    now = timezone.now()
    Fetch.objects.create(
        source=source,
        snapshot=snapshot,
        outcome=outcome,
        status=result.status,
        headers=result.headers,
        elapsed_ms=result.elapsed_ms,
    )
    updates = {
        "etag": result.headers.get("etag", source.etag)[:300],
        "last_modified": result.headers.get("last-modified", source.last_modified)[:100],
        "last_success_at": now,
        "failure_streak": 0,
    }
    if outcome == Fetch.Outcome.BASELINE:
        updates["baseline"] = source.baseline
    PolicySource.objects.filter(pk=source.pk).update(**updates)
    if source.failure_streak:  # only a failing source can have an open alert to close
        SourceAlert.objects.filter(source=source, closed_at__isnull=True).update(closed_at=now)


def _postpone(source, retry_after: int | None) -> None:
    """A 429 asks us to come back later: the next scheduled fetch waits at least that long."""
    wait = timedelta(seconds=max(60, retry_after or 0))
    PolicySource.objects.filter(pk=source.pk).update(next_run_at=timezone.now() + wait)


def _record_failure(source, error: str, status=None) -> str:
    now = timezone.now()
    Fetch.objects.create(
        source=source, outcome=Fetch.Outcome.FAILED, status=status, error=error[:500]
    )
    PolicySource.objects.filter(pk=source.pk).update(
        last_error=error[:500],
        last_error_at=now,
        failure_streak=F("failure_streak") + 1,
    )
    source.refresh_from_db(fields=["failure_streak"])
    if source.failure_streak >= settings.SOURCE_FAILURES_BEFORE_ALERT:
        _open_alert(source, error)
    return FAILED


def _open_alert(source, error) -> None:
    updated = SourceAlert.objects.filter(source=source, closed_at__isnull=True).update(
        last_error=error[:500]
    )
    if not updated:
        try:
            with transaction.atomic():
                SourceAlert.objects.create(source=source, last_error=error[:500])
        except IntegrityError:  # opened by a concurrent failure
            pass
