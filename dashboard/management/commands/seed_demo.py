import secrets

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from catalog.models import PolicyVersion
from dashboard import demo


class Command(BaseCommand):
    help = (
        "Load the shipped catalog if the catalog is empty, then create the demo: the Demo Inc. "
        "account and its owner, two privacy-team reviewers, four more accounts, two weeks of "
        "synthetic usage (each request where its key's settings allow), receipts of a "
        "regulated key, a change waiting for review and notifications. Prints the logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", help="use this password instead of a random one")
        parser.add_argument(
            "--usage-events",
            type=int,
            default=20_000,
            help="synthetic usage events for the demo account (0: none); default 20,000",
        )

    def handle(self, password=None, usage_events=20_000, **options):
        if not PolicyVersion.objects.exists():
            call_command("seed_catalog", stdout=self.stdout)
        password = password or secrets.token_urlsafe(12)
        seeded = demo.seed_people(password)
        usage = demo.seed_usage(seeded, usage_events)
        demo.seed_receipts(seeded)
        demo.seed_review(seeded)
        demo.seed_notifications(seeded)
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Sign in at {settings.SITE_URL}/login/"))
        self.stdout.write(f"  account owner:  {demo.DEMO_OWNER}  password: {password}")
        for reviewer in seeded.reviewers:
            self.stdout.write(f"  privacy team:   {reviewer.email}  password: {password}")
        if usage:
            self.stdout.write(f"  usage:          {usage:,} synthetic events")
