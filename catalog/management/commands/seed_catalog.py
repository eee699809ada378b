import json
from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader

SHIPPED_CATALOG = Path(__file__).resolve().parents[2] / "data" / "catalog.json"


class Command(BaseCommand):
    help = "Load the shipped catalog of real providers (catalog/data/catalog.json)."

    def handle(self, **options):
        catalog = parse_catalog(json.loads(SHIPPED_CATALOG.read_text()))
        report = Loader().load(catalog)
        self.stdout.write(json.dumps(report.as_dict()))
