import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog.catalog_file import CatalogFileError, parse_catalog
from catalog.loader import Loader


class Command(BaseCommand):
    help = (
        "Load a catalog file. Into an empty catalog its policies are imported as approved "
        "versions; entries that exist and differ become proposals for review, unless "
        "--approve-as names the privacy-team reviewer who approves them."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--approve-as", metavar="EMAIL", help="reviewer who approves changes")

    def handle(self, file, approve_as=None, **options):
        catalog = self._read(file)
        loader = Loader(approve_as=self._reviewer(approve_as) if approve_as else None)
        report = loader.load(catalog)
        self.stdout.write(json.dumps(report.as_dict()))

    def _read(self, file: Path):
        try:
            data = json.loads(file.read_text())
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file}: not JSON: {exc}") from None
        try:
            return parse_catalog(data)
        except CatalogFileError as exc:
            raise CommandError(f"{file}: {exc} (nothing was loaded)") from None

    def _reviewer(self, email):
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"--approve-as: no user with email {email}")
        return user
