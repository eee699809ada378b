import json
from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.catalog_file import parse_catalog
from catalog.evidence import PUBLIC
from catalog.loader import Loader
from catalog.models import PolicySource, Provider

SHIPPED_CATALOG = Path(__file__).resolve().parents[2] / "data" / "catalog.json"


class Command(BaseCommand):
    help = (
        "Load the shipped catalog of real providers (catalog/data/catalog.json) and register "
        "each provider's policy page as a source for the refresh jobs."
    )

    def handle(self, **options):
        catalog = parse_catalog(json.loads(SHIPPED_CATALOG.read_text()))
        report = Loader().load(catalog).as_dict()
        report["sources"] = register_shipped_sources(catalog)
        self.stdout.write(json.dumps(report))


def quoted_pages(catalog) -> dict[str, set[str]]:
    """Provider slug -> the pages its evidence quotes, endpoint overrides' included: the pages
    whose change matters. Agreements and third-party corroboration are not watched."""
    policies = [(p.slug, p.policy) for p in catalog.providers]
    policies += [(e.provider, e.policy) for e in catalog.endpoints if e.policy is not None]
    pages = {p.slug: set() for p in catalog.providers}
    for slug, policy in policies:
        pages[slug].update(
            item["source_url"]
            for item in policy.evidence_dict().values()
            if item["basis"] == PUBLIC and item["source_url"]
        )
    return pages


def register_shipped_sources(catalog) -> int:
    """The pages the shipped evidence quotes. They are registered without the two-fetch check
    of `addpolicysource` (the machine may have no internet); their first successful refresh
    sets the baseline."""
    created = 0
    providers = {p.slug: p for p in Provider.objects.all()}
    for slug, urls in quoted_pages(catalog).items():
        for url in sorted(urls):
            _, new = PolicySource.objects.get_or_create(
                provider=providers[slug],
                url=url,
                defaults={"kind": PolicySource.Kind.API_DATA_USAGE},
            )
            created += new
    return created
