import json
from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.catalog_file import parse_catalog
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


def register_shipped_sources(catalog) -> int:
    """The pages the shipped evidence quotes. They are registered without the two-fetch check
    of `addpolicysource` (the machine may have no internet); their first successful refresh
    sets the baseline."""
    created = 0
    providers = {p.slug: p for p in Provider.objects.all()}
    for item in catalog.providers:
        urls = {item.policy.source_url} | {
            e.url for e in item.policy.evidence.values() if not isinstance(e, str) and e.url
        }
        for url in sorted(filter(None, urls)):
            _, new = PolicySource.objects.get_or_create(
                provider=providers[item.slug],
                url=url,
                defaults={"kind": PolicySource.Kind.API_DATA_USAGE},
            )
            created += new
    return created
