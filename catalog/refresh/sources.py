"""Registering a policy source: it must be fetchable and its selection stable."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import PolicyChange, PolicySource, Snapshot, SourceText
from catalog.refresh.fetcher import FetchError, fetch
from catalog.refresh.normalize import ExtractionError
from catalog.refresh.pipeline import extract, fetch_policy, reextract
from dashboard import audit


class SourceCheckError(Exception):
    pass


def check_source(source: PolicySource) -> str:
    """Fetch twice; the selection must match and extract the same text both times."""
    texts = []
    for _ in range(2):
        try:
            result = fetch(source.url, policy=fetch_policy(source))
            texts.append(extract(source, result.body))
        except (FetchError, ExtractionError) as exc:
            raise SourceCheckError(f"{source.url}: {exc}") from None
    if texts[0] != texts[1]:
        raise SourceCheckError(
            f"{source.url}: the selection gave different text on two fetches; choose a "
            "selector without volatile parts, or --remove them"
        )
    return texts[0]


def register_source(provider, url, **fields) -> PolicySource:
    source = PolicySource(provider=provider, url=url, **fields)
    check_source(source)
    try:
        source.save()
    except IntegrityError:
        raise SourceCheckError(f"{provider.slug} already has the source {url}") from None
    return source


@transaction.atomic
def change_selectors(source: PolicySource, *, select=None, remove=None, actor=None) -> PolicySource:
    """New extraction rules are a technical update, never a change: the texts a fetch is
    compared with are extracted again from their stored snapshots under the new rules."""
    before = {"select": source.select, "remove": source.remove}
    for name, value in (("select", select), ("remove", remove)):
        if value is not None:
            setattr(source, name, value)
    texts = {"baseline": source.baseline} if source.baseline else {}
    pending = source.changes.open().select_related("after").first()
    if pending:
        texts["pending"] = pending.after
    renewed = {role: _reextract(source, text) for role, text in texts.items()}
    source.baseline = renewed.get("baseline", source.baseline)
    source.save()
    if pending:
        PolicyChange.objects.filter(pk=pending.pk).update(after=renewed["pending"])
    after = {"select": source.select, "remove": source.remove}
    audit.record(
        "source.selectors_changed", actor=actor, target=source.url, before=before, after=after
    )
    return source


def _reextract(source, text: SourceText) -> SourceText:
    try:
        return reextract(source, text)
    except ExtractionError as exc:
        raise SourceCheckError(f"the stored snapshot no longer matches: {exc}") from None


def purge_old_snapshots(now=None) -> int:
    """Raw bodies past SNAPSHOT_RETENTION_DAYS go, except those a kept text was made from."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SNAPSHOT_RETENTION_DAYS)
    old = Snapshot.objects.filter(created__lt=cutoff).exclude(texts__isnull=False)
    deleted, _ = old.delete()
    return deleted
