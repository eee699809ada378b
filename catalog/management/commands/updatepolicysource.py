from django.core.management.base import BaseCommand, CommandError

from catalog.models import PolicySource
from catalog.refresh.sources import SourceCheckError, change_selectors


class Command(BaseCommand):
    help = (
        "Change how a source's text is extracted. Its stored snapshots are extracted again "
        "under the new rules, as a technical update: no change is proposed."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=int, help="source id")
        parser.add_argument("--select", help="CSS selector of the policy text")
        parser.add_argument("--remove", action="append", help="CSS selector to drop (repeat)")
        parser.add_argument("--enable", action="store_true")
        parser.add_argument("--disable", action="store_true")

    def handle(self, source, select=None, remove=None, **options):
        found = PolicySource.objects.filter(pk=source).select_related("baseline").first()
        if found is None:
            raise CommandError(f"No source {source}.")
        try:
            change_selectors(found, select=select, remove=remove)
        except SourceCheckError as exc:
            raise CommandError(str(exc)) from None
        if options["enable"] or options["disable"]:
            PolicySource.objects.filter(pk=source).update(enabled=options["enable"])
        self.stdout.write(f"Source {source} updated; its texts were extracted again.")
