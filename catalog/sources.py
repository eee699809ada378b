"""Registering a policy source: it must be fetchable and its selection stable."""

from django.db import IntegrityError

from .fetcher import ExtractionError, FetchError, fetch
from .models import PolicySource
from .refresh import extract, fetch_policy


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
