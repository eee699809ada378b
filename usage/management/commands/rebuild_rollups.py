import json

from django.core.management.base import BaseCommand, CommandError

from dashboard.models import Account
from usage.rebuild import rebuild_rollups


class Command(BaseCommand):
    help = (
        "Recompute the hourly and daily rollups and latency histograms from the raw usage "
        'events still kept; prints JSON {"events", "since"} as its last line.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", help="only this account's rollups (slug)")

    def handle(self, account=None, **options):
        scope = None
        if account:
            scope = Account.objects.filter(slug=account).first()
            if scope is None:
                raise CommandError(f"No account {account!r}.")
        result = rebuild_rollups(scope)
        since = result.since.isoformat() if result.since else None
        self.stdout.write(json.dumps({"events": result.events, "since": since}))
