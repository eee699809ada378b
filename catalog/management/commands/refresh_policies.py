import json
import sys

from django.core.management.base import BaseCommand, CommandError

from catalog.jobs import refresh_many
from catalog.models import PolicySource


class ProgressBar:
    """A one-line progress bar on a terminal; silent when output is not a terminal."""

    def __init__(self, total: int, stream):
        self.total, self.done, self.stream = total, 0, stream
        self.counts = {"changed": 0, "failed": 0}
        self.enabled = stream.isatty() and total > 0

    def __call__(self, outcome: str) -> None:
        self.done += 1
        if outcome in self.counts:
            self.counts[outcome] += 1
        if self.enabled:
            filled = int(30 * self.done / self.total)
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                f"changed {self.counts['changed']} failed {self.counts['failed']}"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


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
        bar = ProgressBar(len(sources), sys.stderr)
        counts = refresh_many(sources, progress=bar)
        bar.close()
        self.stdout.write(json.dumps(counts))
