from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug
from django.db import transaction

from dashboard import audit
from dashboard.models import Account, Membership, Role


class Command(BaseCommand):
    help = "Create an account with its owner (the owner's user is created if missing)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True, help="email of the owner")
        parser.add_argument("--name", help="display name (default: the slug)")

    @transaction.atomic
    def handle(self, slug, owner, name=None, **options):
        try:
            validate_slug(slug)
            validate_email(owner)
        except Exception as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if Account.objects.filter(slug=slug).exists():
            raise CommandError(f"An account with slug {slug!r} already exists.")
        user, created = get_user_model().objects.get_or_create(
            username=owner.lower(), defaults={"email": owner.lower()}
        )
        account = Account.objects.create(slug=slug, name=name or slug)
        Membership.objects.create(account=account, user=user, role=Role.OWNER)
        audit.record(
            "account.created",
            account=account,
            target=slug,
            after={"name": account.name, "owner": user.email},
        )
        if created:
            self.stdout.write(
                f"Created user {user.email} with no password; "
                "set one with: manage.py changepassword " + user.username
            )
        self.stdout.write(f"Created account {slug} owned by {user.email}")
