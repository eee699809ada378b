"""Refreshing one policy source: fetch it safely, keep the snapshot, extract the text, and turn
a real difference into a proposal. Nothing here changes the catalog itself.

A source has at most one pending change: a newer detection while one is open updates it — its
diff is always from the approved baseline, what the reviewer last saw — and keeps the texts it
replaced in its history. One refresh of a source is one *run*: transient failures are retried
inside it, and however many attempts it takes, a failed run counts once towards the alert.
"""

import hashlib
import json
import time
import zlib
from dataclasses import dataclass, replace
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
from catalog.refresh.fetcher import FetchError, FetchPolicy, fetch
from catalog.refresh.normalize import (
    EXTRACTOR_VERSION,
    ExtractionError,
    broken_render,
    comparison_key,
    normalize_html,
    normalize_json,
)
from catalog.review.versions import current_version, propose

FETCHED, UNCHANGED, CHANGED, FAILED = "fetched", "unchanged", "changed", "failed"

# Worth another attempt in the same run; everything else (a blocked address, a refused content
# type, a selector that matches nothing) fails the same way until someone changes something.
TRANSIENT_KINDS = frozenset({"timeout", "connect", "dns", "rate_limited", "render"})


_TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})


@dataclass(frozen=True)
class Failure:
    kind: str
    message: str
    status: int | None = None
    retry_after: int | None = None

    @property
    def transient(self) -> bool:
        server_side = self.kind == "http_status" and (self.status or 0) in _TRANSIENT_STATUSES
        return self.kind in TRANSIENT_KINDS or server_side

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class _Failed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(str(failure))
        self.failure = failure


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
                body=zlib.compress(body, 3),
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
    return normalize_html(body, select=source.select or None, remove=list(source.remove))


def text_hash(text: str) -> str:
    return hashlib.sha256(comparison_key(text).encode()).hexdigest()


def store_text(source: PolicySource, snapshot: Snapshot, text: str) -> SourceText:
    return SourceText.objects.create(
        source=source,
        snapshot=snapshot,
        text=text,
        text_hash=text_hash(text),
        extractor=EXTRACTOR_VERSION,
    )


def current_texts(source: PolicySource) -> tuple[SourceText | None, PolicyChange | None]:
    """The approved baseline and the open change, their texts extracted by today's rules: a
    text kept from older rules (or older selectors) is extracted again from its snapshot, so a
    change of rules is never mistaken for a change of the page."""
    pending = source.changes.open().select_related("after__snapshot").first()
    baseline = source.baseline
    if baseline is not None and baseline.extractor != EXTRACTOR_VERSION:
        baseline = reextract(source, baseline)
        PolicySource.objects.filter(pk=source.pk).update(baseline=baseline)
        source.baseline = baseline
    if pending is not None and pending.after.extractor != EXTRACTOR_VERSION:
        pending.after = reextract(source, pending.after)
        PolicyChange.objects.filter(pk=pending.pk).update(after=pending.after)
    return baseline, pending


def reextract(source: PolicySource, text: SourceText) -> SourceText:
    return store_text(source, text.snapshot, extract(source, snapshot_body(text.snapshot)))


# --- one run ------------------------------------------------------------------------------------


def refresh_source(source_id: int) -> str:
    """One run for one source: attempts until one succeeds, the failure is permanent, or
    REFRESH_RETRIES more attempts have failed; a failed run is recorded once."""
    source = PolicySource.objects.select_related("baseline__snapshot").get(pk=source_id)
    failure = None
    for attempt in range(settings.REFRESH_RETRIES + 1):
        if attempt:
            time.sleep(settings.REFRESH_BACKOFF_SECONDS * 2 ** (attempt - 1))
        try:
            return _attempt(source)
        except _Failed as failed:
            failure = failed.failure
        if not failure.transient or failure.kind == "rate_limited":
            break
    if failure.kind == "rate_limited":
        _postpone(source, failure.retry_after)
    return record_failure(source, failure)


def _attempt(source: PolicySource) -> str:
    try:
        result = fetch(
            source.url,
            policy=fetch_policy(source),
            etag=source.etag or None,
            last_modified=source.last_modified or None,
        )
    except FetchError as exc:
        failure = Failure(exc.kind, exc.message, status=exc.status, retry_after=exc.retry_after)
        raise _Failed(failure) from None
    if result.not_modified:
        _record_success(source, result, None, Fetch.Outcome.NOT_MODIFIED)
        return UNCHANGED
    snapshot = store_snapshot(result.body, result.headers.get("content-type", ""))
    try:
        return _compare(source, result, snapshot, extract(source, result.body))
    except ExtractionError as exc:
        raise _Failed(Failure("extraction", str(exc), status=result.status)) from None


@transaction.atomic
def _compare(source, result, snapshot, text) -> str:
    source = PolicySource.objects.select_for_update().get(pk=source.pk)
    baseline, pending = current_texts(source)
    latest = pending.after if pending else baseline
    if reason := broken_render(text, latest.text if latest else None):
        raise _Failed(Failure("render", reason, status=result.status))
    if latest is not None and latest.text_hash == text_hash(text):
        _record_success(source, result, snapshot, Fetch.Outcome.UNCHANGED)
        return UNCHANGED
    stored = store_text(source, snapshot, text)
    if baseline is None:
        source.baseline = stored
        _record_success(source, result, snapshot, Fetch.Outcome.BASELINE)
        return FETCHED
    if pending is not None:
        update_change(source, pending, baseline, stored)
    else:
        propose_change(source, baseline, stored)
    _record_success(source, result, snapshot, Fetch.Outcome.CHANGED)
    return CHANGED


# --- proposals ----------------------------------------------------------------------------------


def propose_change(source, before: SourceText, after: SourceText) -> PolicyChange:
    change = PolicyChange(source=source, provider=source.provider, before=before)
    _describe(change, source, after)
    change.save()
    return change


def update_change(source, change: PolicyChange, baseline: SourceText, after: SourceText) -> None:
    """A newer detection while the change is open: still one change, diffed from the approved
    baseline; the text it replaces goes into its history. A page back to the approved text
    leaves nothing to review."""
    change.history = [*change.history, _history_entry(change)]
    change.before = baseline
    if after.text_hash == baseline.text_hash:
        change.after, change.status = after, PolicyChange.Status.WITHDRAWN
        change.revision += 1
        change.save()
        return
    _describe(change, source, after)
    change.revision += 1
    change.save()


def _history_entry(change: PolicyChange) -> dict:
    return {
        "text": change.after_id,
        "summary": change.summary,
        "material": change.material,
        "detected": change.updated.isoformat() if change.updated else None,
    }


def _describe(change: PolicyChange, source, after: SourceText) -> None:
    before = change.before
    change.after = after
    change.diff = diffing.sentence_diff(before.text, after.text)
    change.evidence_missing = evidence_flags(source, before.text, after.text)
    change.version = (
        _proposed_version(source, after) if source.kind == PolicySource.Kind.JSON else None
    )
    change.summary = diffing.summary(change.diff)[:300]
    change.material = (
        bool(change.evidence_missing)
        or change.version is not None
        or diffing.is_material(change.diff)
    )


def evidence_flags(source, before: str, after: str) -> list[str]:
    """Approved fields quoted from this source whose passage — or the sentence around it — is
    not in the new text. Only a passage the approved text still had is flagged: once it has
    gone, the change where it went carries the flag, not every change after."""
    flags = []
    for version in PolicyVersion.objects.current().filter(provider=source.provider):
        for field, evidence in sorted(version.evidence.items()):
            item = normalise(evidence, version.source_url)
            passage = item["quote"]
            if item["source_url"] != source.url:
                continue
            if not diffing.passage_found(passage, before):
                continue
            status = diffing.evidence_status(passage, before, after)
            if status != diffing.FOUND:
                flags.append(f"{version.subject}: {field} ({status})")
    return flags


def _proposed_version(source, after: SourceText) -> PolicyVersion | None:
    """A JSON source states field values outright: they become a proposed version."""
    document = json.loads(after.text)
    fields = document.get("policy", {})
    current = current_version(source.provider)
    content = PolicyVersion.content_of(current)
    content.update({name: fields.get(name) for name in PolicyVersion.FIELDS if name in fields})
    content.update(source_url=source.url, evidence=_json_evidence(document, source.url))
    if current is not None and all(getattr(current, k) == v for k, v in content.items()):
        return None
    return propose(source.provider, None, content, origin=PolicyVersion.Origin.REFRESH)


def _json_evidence(document: dict, url: str) -> dict:
    return {
        field: normalise(str(passage), url, timezone.localdate())
        for field, passage in sorted(document.get("evidence", {}).items())
    }


# --- recording ----------------------------------------------------------------------------------


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
        SourceAlert.objects.open().filter(source=source).update(closed_at=now)


def _postpone(source, retry_after: int | None) -> None:
    """A 429 asks us to come back later: the next scheduled fetch waits at least that long."""
    wait = timedelta(seconds=max(60, retry_after or 0))
    PolicySource.objects.filter(pk=source.pk).update(next_run_at=timezone.now() + wait)


def record_failure(source, failure: Failure) -> str:
    """One failed run: the alert opens after SOURCE_FAILURES_BEFORE_ALERT of them in a row."""
    now, error = timezone.now(), str(failure)[:500]
    Fetch.objects.create(
        source=source,
        outcome=Fetch.Outcome.FAILED,
        status=failure.status,
        error=error,
        error_kind=failure.kind,
    )
    PolicySource.objects.filter(pk=source.pk).update(
        last_error=error,
        last_error_kind=failure.kind,
        last_error_at=now,
        failure_streak=F("failure_streak") + 1,
    )
    source.refresh_from_db(fields=["failure_streak"])
    if source.failure_streak >= settings.SOURCE_FAILURES_BEFORE_ALERT:
        _open_alert(source, error)
    return FAILED


def _open_alert(source, error) -> None:
    updated = SourceAlert.objects.open().filter(source=source).update(last_error=error)
    if not updated:
        try:
            with transaction.atomic():
                SourceAlert.objects.create(source=source, last_error=error)
        except IntegrityError:  # opened by a concurrent failure
            pass
