from django.core.management.base import BaseCommand, CommandError

from dashboard.apikeys import create_key
from dashboard.models import Account, ApiKey


class Command(BaseCommand):
    help = (
        "Create an API key and print its secret alone on the last line, once. "
        "`createapikey <account> [--name N] [--management]` or `createapikey --ingest`."
    )

    def add_arguments(self, parser):
        parser.add_argument("account", nargs="?", help="account slug (not with --ingest)")
        parser.add_argument("--name", default="")
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--management", action="store_true", help="may change settings as code")
        kind.add_argument("--ingest", action="store_true", help="platform-wide usage ingest key")

    def handle(self, account=None, name="", management=False, ingest=False, **options):
        if ingest and account:
            raise CommandError("An ingest key is platform-wide: give no account with --ingest.")
        if not ingest and not account:
            raise CommandError("Name the account the key belongs to (or use --ingest).")
        kind = (
            ApiKey.Kind.INGEST
            if ingest
            else (ApiKey.Kind.MANAGEMENT if management else ApiKey.Kind.INFERENCE)
        )
        owner = None
        if account:
            owner = Account.objects.filter(slug=account).first()
            if owner is None:
                raise CommandError(f"No account with slug {account!r}.")
        key, secret = create_key(name=name or f"{kind} key", kind=kind, account=owner)
        self.stdout.write(
            f"Created {kind} key {key.name!r} with prefix {key.prefix}. "
            "The secret below is shown once; it is stored only as a hash."
        )
        self.stdout.write(secret)
