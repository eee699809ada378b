from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from catalog.models import PolicyVersion, Provider
from catalog.playground import run_playground
from catalog.policy import resolver, vocabulary
from catalog.policy.badges import policy_badges
from catalog.policy.snapshot import get_catalog
from catalog.policy.vocabulary import FLAG_TAGS, Retention, Training
from catalog.review.history import version_timeline
from core.access import public, signed_in

# Sorting puts the safest first and unknown with the worst.
RETENTION_ORDER = {
    Retention.ZERO: 0,
    Retention.DAYS: 1,
    Retention.INDEFINITE: 3,
    Retention.UNKNOWN: 4,
}
TRAINING_ORDER = {Training.NO: 0, Training.UNKNOWN: 1, Training.YES: 2}
SORT_KEYS = {
    "endpoint": lambda e: e.id,
    "model": lambda e: (e.model, e.provider),
    "provider": lambda e: (e.provider, e.model),
    "training": lambda e: (TRAINING_ORDER[e.policy.training], e.id),
    "retention": lambda e: (
        RETENTION_ORDER[e.policy.retention],
        e.policy.retention_days or 0,
        e.id,
    ),
    "certifications": lambda e: (-len(e.policy.certifications), e.id),
}


def _required_tags(values: list[str]) -> tuple[list[str], list[str]]:
    """Every tag of the policy language, repeated or comma-separated as the API takes them:
    (canonical tags, what was refused and why)."""
    tags, refused = [], []
    for value in values:
        for tag in filter(None, (part.strip() for part in value.split(","))):
            try:
                canonical = resolver.parse_tag(tag)
            except resolver.InvalidTag as exc:
                refused.append(exc.explained())
            else:
                tags.append(canonical)
    return list(dict.fromkeys(tags)), refused


def _filters(request) -> dict:
    # `require` as in the API; the page's menus and free-text field send their own names.
    given = [value for name in TAG_PARAMS for value in request.GET.getlist(name)]
    tags, refused = _required_tags(given[:20])
    sort = request.GET.get("sort", "model")
    return {
        "require": tags,
        "refused": refused,
        "q": request.GET.get("q", "").strip()[:100],
        "sort": sort if sort in SORT_KEYS else "model",
    }


TAG_PARAMS = ("require", "region", "cert", "hq", "tags")


def _tag_choices(catalog) -> dict[str, list[tuple[str, str, bool]]]:
    """(tag, label) of each region, certification and country some endpoint has, for the
    catalog's filter controls; values no endpoint has would only ever show nothing."""
    regions, certifications, countries = set(), set(), set()
    for endpoint in catalog.endpoints_for(resolver.AUTO_MODEL):
        regions |= endpoint.policy.regions
        certifications |= endpoint.policy.certifications
        if endpoint.policy.headquarters:
            countries.add(endpoint.policy.headquarters)
    return {
        "region": [(f"region:{r}", vocabulary.REGIONS.get(r, r)) for r in sorted(regions)],
        "cert": [
            (f"cert:{c}", vocabulary.CERTIFICATIONS.get(c, c)) for c in sorted(certifications)
        ],
        "hq": [(f"hq:{c}", c) for c in sorted(countries)],
    }


def _matching_endpoints(filters, today):
    effective = resolver.merge(
        [("filter", resolver.Constraints(require=frozenset(filters["require"])))]
    )
    resolution = resolver.resolve(get_catalog(), resolver.AUTO_MODEL, effective, today)
    needle = filters["q"].lower()
    found = (
        [e for e in resolution.eligible if needle in e.id.lower()]
        if needle
        else resolution.eligible
    )
    return sorted(found, key=SORT_KEYS[filters["sort"]]), len(resolution.eligible) + len(
        resolution.excluded
    )


def _uncovered(tags, choices) -> str:
    """The required tags no chip or menu shows, for the free-text field."""
    shown = {*FLAG_TAGS, *(tag for options in choices.values() for tag, _ in options)}
    return ", ".join(tag for tag in tags if tag not in shown)


@public
def catalog_list(request):
    today = timezone.now().date()
    filters = _filters(request)
    endpoints, total = _matching_endpoints(filters, today)
    context = {
        "filters": filters,
        "filter_tags": FLAG_TAGS,
        "tag_choices": (choices := _tag_choices(get_catalog())),
        "more_tags": _uncovered(filters["require"], choices),
        "tag_menus": [
            ("region", "Region", choices["region"]),
            ("cert", "Certification", choices["cert"]),
            ("hq", "Headquarters", choices["hq"]),
        ],
        "rows": [(e, policy_badges(e.policy, today)) for e in endpoints],
        "total": total,
        "provider_names": dict(Provider.objects.values_list("slug", "name")),
        "sort_keys": list(SORT_KEYS),
    }
    template = "catalog/endpoint_list.html"
    return render(request, f"{template}#results" if request.htmx else template, context)


@public
def provider_list(request):
    today = timezone.now().date()
    catalog = get_catalog()
    by_provider = {}
    for endpoint in catalog.endpoints_for(resolver.AUTO_MODEL):
        by_provider.setdefault(endpoint.provider, []).append(endpoint)
    providers = Provider.objects.all()
    rows = [(p, by_provider.get(p.slug, [])) for p in providers]
    return render(request, "catalog/provider_list.html", {"rows": rows, "today": today})


def _get_provider(slug) -> Provider:
    return get_object_or_404(Provider, slug=slug)


@public
def provider_detail(request, slug):
    provider = _get_provider(slug)
    today = timezone.now().date()
    versions = list(
        PolicyVersion.objects.filter(provider=provider)
        .select_related(
            "provider", "endpoint__model", "endpoint__provider", "decided_by", "proposed_by"
        )
        .order_by("endpoint_id", "-number")
    )
    endpoints = [e for e in get_catalog().endpoints_for(resolver.AUTO_MODEL) if e.provider == slug]
    current = [v for v in versions if v.is_current]
    current_default = next((v for v in current if v.endpoint_id is None), None)
    context = {
        "provider": provider,
        "current": current_default,
        "endpoints": [(e, policy_badges(e.policy, today)) for e in endpoints],
        "overrides": [v for v in current if v.endpoint_id],
        "timeline": version_timeline(versions),
    }
    return render(request, "catalog/provider_detail.html", context)


@signed_in
def playground(request):
    context = run_playground(request)
    template = "catalog/playground_form.html"
    return render(request, f"{template}#result" if request.htmx else template, context)
