from django.core.management.base import BaseCommand, CommandError

from catalog.models import PolicySource, Provider
from catalog.refresh.sources import SourceCheckError, register_source


class Command(BaseCommand):
    help = (
        "Register a policy source of a provider. The source is fetched twice first: the "
        "selection must match and give the same text both times."
    )

    def add_arguments(self, parser):
        parser.add_argument("provider", help="provider slug")
        parser.add_argument("url")
        parser.add_argument("--kind", choices=["html", "json"], default="html")
        parser.add_argument(
            "--document",
            choices=[k for k, _ in PolicySource.Kind.choices],
            default=PolicySource.Kind.API_DATA_USAGE,
            help="what the page is (html sources)",
        )
        parser.add_argument("--select", default="", help="CSS selector of the policy text")
        parser.add_argument("--remove", action="append", default=[], help="CSS selector to drop")
        parser.add_argument("--interval-hours", type=int, default=12)

    def handle(self, provider, url, kind, document, **options):
        owner = Provider.objects.filter(slug=provider).first()
        if owner is None:
            raise CommandError(f"No provider with slug {provider!r}.")
        try:
            source = register_source(
                owner,
                url,
                kind=PolicySource.Kind.JSON if kind == "json" else document,
                select=options["select"],
                remove=options["remove"],
                interval_hours=options["interval_hours"],
            )
        except SourceCheckError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Registered source {source.pk} for {owner.slug}: {url}")
