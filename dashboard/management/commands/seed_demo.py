import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import PolicyVersion
from dashboard import audit
from dashboard.apikeys import create_key
from dashboard.models import Account, ApiKey, Membership, Role
from usage import synthetic
from usage.account_data import usage_summary

DEMO_ACCOUNT = "demo"
DEMO_OWNER = "owner@demo.anyapi.test"
DEMO_PRIVACY = "privacy@anyapi.test"
DEMO_USAGE_DAYS = 14
DEMO_USAGE_SEED = 2026
# None: in the shipped catalog no endpoint that proves no training and zero retention also has a
# certification quoted from its provider's own pages, so requiring one would leave nothing.
DEMO_REGULATED_CERTIFICATIONS = ()


class Command(BaseCommand):
    help = (
        "Load the shipped catalog if the catalog is empty, then create the demo account, its "
        "owner and a privacy-team reviewer, printing the logins, and give the demo account "
        "two weeks of synthetic usage unless it has usage already."
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
        account = self._seed_accounts(password or secrets.token_urlsafe(12))
        if usage_events > 0 and usage_summary(account).is_empty:
            result = synthetic.generate(
                [account], days=DEMO_USAGE_DAYS, events=usage_events, seed=DEMO_USAGE_SEED
            )
            self.stdout.write(f"  usage:          {result.accepted:,} synthetic events")

    @transaction.atomic
    def _seed_accounts(self, password):
        owner = self._user(DEMO_OWNER, password)
        reviewer = self._user(DEMO_PRIVACY, password)
        reviewer.groups.add(Group.objects.get_or_create(name=settings.PRIVACY_TEAM_GROUP)[0])
        account, created = Account.objects.get_or_create(
            slug=DEMO_ACCOUNT, defaults={"name": "Demo Inc."}
        )
        Membership.objects.get_or_create(account=account, user=owner, defaults={"role": Role.OWNER})
        if created:
            audit.record(
                "account.created",
                account=account,
                target=account.slug,
                after={"name": account.name, "owner": owner.email},
            )
            create_key(name="Demo gateway", kind=ApiKey.Kind.INFERENCE, account=account)
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Sign in at {settings.SITE_URL}/login/"))
        self.stdout.write(f"  account owner:  {DEMO_OWNER}  password: {password}")
        self.stdout.write(f"  privacy team:   {DEMO_PRIVACY}  password: {password}")
        return account

    def _user(self, email, password):
        user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
        user.set_password(password)
        user.save()
        return user
