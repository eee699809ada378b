"""The public catalog changelog as a page, an Atom feed and JSON, each filterable by provider."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from catalog import changelog
from catalog.models import Provider
from core.access import public
from core.text import shown

PAGE = "catalog/changelog_list.html"


def _provider(request) -> str | None:
    slug = request.GET.get("provider", "").strip().lower()
    return slug[:60] or None


@public
def changelog_page(request):
    provider = _provider(request)
    context = {
        "entries": changelog.entries(provider),
        "provider": provider,
        "providers": Provider.objects.order_by("slug").values_list("slug", "name"),
        "query": f"?provider={provider}" if provider else "",
    }
    return render(request, PAGE, context)


@public
def changelog_json(request):
    provider = _provider(request)
    body = {
        "provider": provider,
        "changes": [changelog.as_json(e) for e in changelog.entries(provider)],
    }
    return JsonResponse(body)


@public
def changelog_feed(request):
    provider = _provider(request)
    page = request.build_absolute_uri(reverse("catalog_changelog"))
    feed = Atom1Feed(
        title="AnyAPI catalog changes" + (f": {provider}" if provider else ""),
        link=page,
        description="Approved changes to the data policies of AnyAPI's upstream providers.",
        feed_url=request.build_absolute_uri(),
        language="en",
    )
    for entry in changelog.entries(provider):
        feed.add_item(
            title=entry.title,
            link=f"{page}#change-{entry.version.pk}",
            unique_id=f"{page}#change-{entry.version.pk}",
            description=_summary(entry),
            pubdate=entry.approved_at,
            updateddate=entry.approved_at,
            categories=[entry.provider],
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


def _summary(entry) -> str:
    lines = [
        f"{c.field}: {shown(c.before, 'not given')} → {shown(c.after, 'not given')}"
        for c in entry.changes
    ]
    count = len(entry.endpoints)
    lines.append(
        f"Endpoints: {count} ({', '.join(entry.endpoints[:10])}{'…' if count > 10 else ''})"
    )
    lines += [f'{e.field}: "{e.quote}" ({e.source_url})' for e in entry.evidence if e.quote]
    return "\n".join(lines)
