import json
import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.models import PolicySource
from catalog.refresh.jobs import refresh_many
from core.progress import ProgressBar


class RefreshProgress(ProgressBar):
    """The bar, with how many sources changed or failed so far."""

    def __init__(self, total: int, stream):
        super().__init__(total, stream)
        self.counts = {"changed": 0, "failed": 0}

    def __call__(self, outcome: str) -> None:
        if outcome in self.counts:
            self.counts[outcome] += 1
        self.advance(note=f"changed {self.counts['changed']} failed {self.counts['failed']}")


class Command(BaseCommand):
    help = (
        "Refresh policy sources now and print, as the last line, JSON counts: "
        '{"fetched", "unchanged", "changed", "failed"}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--provider", help="only this provider's sources")
        parser.add_argument("--source", type=int, help="only this source id")

    def handle(self, provider=None, source=None, **options):
        sources = PolicySource.objects.filter(enabled=True).select_related("provider")
        if provider:
            sources = sources.filter(provider__slug=provider)
        if source:
            sources = PolicySource.objects.filter(pk=source)
        sources = list(sources)
        if (provider or source) and not sources:
            raise CommandError("No matching enabled source.")
        bar = RefreshProgress(len(sources), sys.stderr)
        counts = refresh_many(sources, progress=bar)
        bar.close()
        self.stdout.write(json.dumps(counts))
