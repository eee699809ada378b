import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.progress import ProgressBar
from usage import synthetic


class Command(BaseCommand):
    help = (
        "Create realistic synthetic usage for K accounts (existing ones first, then new demo-N "
        "accounts) over the last D days, N events in all, through the same ingest as the API."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=1, metavar="K")
        parser.add_argument("--days", type=int, default=14, metavar="D")
        parser.add_argument("--events", type=int, default=20_000, metavar="N")
        parser.add_argument("--seed", type=int, help="the same seed repeats the same traffic")
        parser.add_argument(
            "--unknown-share",
            type=float,
            default=0.0,
            metavar="S",
            help="share of events sent to routes the catalog does not know, as a misconfigured "
            "gateway would (default 0: every event goes where the key's settings allow)",
        )

    def handle(self, accounts, days, events, seed, unknown_share, **options):
        _check(accounts, days, events)
        if not 0 <= unknown_share <= 1:
            raise CommandError("--unknown-share must be between 0 and 1.")
        try:
            routes = synthetic.catalog_routes()
        except synthetic.NoCatalog as exc:
            raise CommandError(str(exc)) from None
        targets = synthetic.accounts_for(accounts)
        bar, started = ProgressBar(events, sys.stderr, " events"), time.monotonic()
        try:
            result = synthetic.generate(
                targets,
                days=days,
                events=events,
                seed=seed,
                routes=routes,
                unknown_share=unknown_share,
                progress=bar.advance,
            )
        except synthetic.NothingAllowed as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        self.stdout.write(
            f"{events:,} events for {len(targets)} account{'s' * (len(targets) != 1)} over "
            f"{days} days: {result.accepted:,} accepted, {result.duplicates:,} duplicates "
            f"in {time.monotonic() - started:.1f} s."
        )


def _check(accounts: int, days: int, events: int) -> None:
    retention = settings.USAGE_RAW_RETENTION_DAYS
    if accounts < 1:
        raise CommandError("--accounts must be at least 1.")
    if not 1 <= days <= retention:
        raise CommandError(
            f"--days must be between 1 and {retention} (USAGE_RAW_RETENTION_DAYS): ingest "
            "refuses events older than the raw-event retention window."
        )
    if events < 0:
        raise CommandError("--events must be 0 or more.")
