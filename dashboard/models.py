import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from catalog.policy import vocabulary
from core.choices import text_choices
from core.hotcache import MISSING, built_from, forget, hot, misses, two_level


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


# Roles that may change settings, keys and members; members only read.
MANAGING_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class AccountQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(memberships__user=user)


class Account(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account__name", "user__email"]
        constraints = [
            # One role per person per account; also serves the access check of every page.
            models.UniqueConstraint(
                fields=["account", "user"], name="dashboard_membership_account_user_uniq"
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.role} of {self.account}"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGING_ROLES


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        cutoff = timezone.now() - settings.INVITATION_MAX_AGE
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, created__gte=cutoff)


class Invitation(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.account} as {self.role}"

    @classmethod
    def issue(cls, account, email, role, invited_by) -> tuple["Invitation", str]:
        token = secrets.token_urlsafe(32)
        invitation = cls.objects.create(
            account=account,
            email=email.lower(),
            role=role,
            invited_by=invited_by,
            token_hash=_digest(token),
        )
        return invitation, token

    @classmethod
    def find_pending(cls, token: str):
        return (
            cls.objects.pending()
            .select_related("account")
            .filter(token_hash=_digest(token))
            .first()
        )


class _NoSuchKey(Exception):
    """No active key has this prefix: nothing to cache."""


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        INFERENCE = "inference", "Inference"
        MANAGEMENT = "management", "Management"
        INGEST = "ingest", "Ingest (platform)"

    PREFIX_LENGTH = 12
    # Last use is written at most this often, so the hot path rarely writes.
    LAST_USED_PRECISION = timedelta(minutes=1)

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="api_keys", null=True, blank=True
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INFERENCE)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            # Ingest keys are platform-wide; every other kind belongs to an account.
            models.CheckConstraint(
                condition=models.Q(kind="ingest", account__isnull=True)
                | (~models.Q(kind="ingest") & models.Q(account__isnull=False)),
                name="dashboard_apikey_account_matches_kind",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, *, name, kind=Kind.INFERENCE, account=None, created_by=None):
        """Create a key and return it with its secret, which is never stored."""
        if created_by is not None and not created_by.is_authenticated:
            created_by = None
        prefix = "aa" + secrets.token_hex((cls.PREFIX_LENGTH - 2) // 2)
        secret = secrets.token_urlsafe(32)
        key = cls.objects.create(
            account=account,
            name=name,
            kind=kind,
            prefix=prefix,
            secret_hash=_digest(secret),
            created_by=created_by,
        )
        return key, f"{prefix}.{secret}"

    @classmethod
    def authenticate(cls, presented: str):
        """The active key matching a presented `prefix.secret`, or None.

        The gateway presents a key on every request, so the lookup is cached; revoking a key
        drops its cache entry at once.
        """
        prefix, _, secret = presented.partition(".")
        if not secret or len(prefix) != cls.PREFIX_LENGTH:
            return None
        key = cls._cached_active(prefix)
        if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
            return None
        key.record_use()
        return key

    CACHE_SECONDS = 300

    @classmethod
    def _cached_active(cls, prefix):
        cache_key = cls.cache_key(prefix)
        if misses.get(cache_key) is not MISSING:
            return None
        try:
            fields = two_level(cache_key, lambda: cls._active_fields(prefix), cls.CACHE_SECONDS)
        except _NoSuchKey:  # anyone can send a prefix: a miss never becomes a shared entry
            misses.set(cache_key, True)
            return None
        # One instance per cached entry, shared by the requests that present the key: the
        # API only reads it.
        return built_from(cache_key, (fields,), cls._from_cache)

    @classmethod
    def _active_fields(cls, prefix) -> dict:
        key = cls.objects.active().select_related("account").filter(prefix=prefix).first()
        if key is None:
            raise _NoSuchKey(prefix)
        return key._cacheable()

    @staticmethod
    def cache_key(prefix: str) -> str:
        return f"apikey:{prefix}"

    def _cacheable(self) -> dict:
        account = self.account
        return {
            "key": {
                "id": self.pk,
                "prefix": self.prefix,
                "name": self.name,
                "kind": self.kind,
                "secret_hash": self.secret_hash,
                "account_id": self.account_id,
            },
            "account": {"id": account.pk, "slug": account.slug, "name": account.name}
            if account
            else None,
        }

    @classmethod
    def _from_cache(cls, fields):
        key = cls(**fields["key"])
        key._state.adding, key._state.db = False, "default"
        if fields["account"]:
            key.account = Account(**fields["account"])
        return key

    def forget_cached(self):
        forget(self.cache_key(self.prefix))
        misses.delete(self.cache_key(self.prefix))

    def record_use(self):
        """Write last use at most once per LAST_USED_PRECISION, whichever process sees it."""
        marker = f"apikey-used:{self.prefix}"
        if hot.get(marker) is not MISSING:  # this process recorded it a moment ago
            return
        hot.set(marker, True)
        precision = int(self.LAST_USED_PRECISION.total_seconds())
        if cache.add(marker, 1, timeout=precision):
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=timezone.now())


class LoginAttempts(models.Model):
    """Sign-in attempts counted per hashed email or per address (dashboard/login_throttle.py)."""

    subject = models.CharField(max_length=80)
    attempts = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField()

    class Meta:
        constraints = [
            # The counter's upsert conflicts on it; each sign-in looks its two subjects up.
            models.UniqueConstraint(fields=["subject"], name="dashboard_loginattempts_subject_uniq")
        ]

    def __str__(self):
        return f"{self.attempts} sign-in attempts for {self.subject} until {self.expires}"


class AuditEventQuerySet(models.QuerySet):
    def for_account(self, account):
        return self.filter(account=account)


class AuditEvent(models.Model):
    """Append-only record of who changed what; PostgreSQL refuses UPDATE and DELETE on it."""

    # The account and actor are plain columns, not constrained keys: an audit row must outlive
    # what it describes and must never be rewritten by an ON DELETE action.
    account = models.ForeignKey(
        Account,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The account's audit log page and CSV export, newest first.
            models.Index(fields=["account", "-created"], name="dashboard_audit_account_idx"),
        ]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditLogIsAppendOnly("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")


class AuditLogIsAppendOnly(Exception):
    pass


def unique_account_slug(name: str) -> str:
    base = slugify(name)[:40] or "account"
    slug, n = base, 1
    while Account.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


Classification = text_choices(vocabulary.Classification)


class PolicyLayer(models.Model):
    """The request vocabulary of PRODUCT.md §2, stored for an account or a key.

    NULL or empty means "this layer says nothing" about that constraint.
    """

    training_allowed = models.BooleanField(null=True, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    require = models.JSONField(default=list, blank=True)
    exclude = models.JSONField(default=list, blank=True)
    only = models.JSONField(null=True, blank=True)
    classification = models.CharField(
        max_length=12, choices=Classification.choices, null=True, blank=True
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    VOCABULARY = (
        "training_allowed",
        "retention_days",
        "require",
        "exclude",
        "only",
        "classification",
    )

    class Meta:
        abstract = True

    def as_vocabulary(self) -> dict:
        return {name: getattr(self, name) for name in self.VOCABULARY}


class PrivacyDefaults(PolicyLayer):
    """An account's privacy defaults: the first layer of every resolution for its keys."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="privacy")
    regulated_certifications = models.JSONField(default=list, blank=True)
    stale_as_unknown = models.BooleanField(
        default=False, help_text="A policy past its review date counts as unknown"
    )

    VOCABULARY = (*PolicyLayer.VOCABULARY, "regulated_certifications", "stale_as_unknown")

    def __str__(self):
        return f"privacy defaults of {self.account}"


class KeyGuardrail(PolicyLayer):
    """A key's guardrail: only ever stricter than its account's defaults."""

    key = models.OneToOneField(ApiKey, on_delete=models.CASCADE, related_name="guardrail")

    def __str__(self):
        return f"guardrail of {self.key}"


class ProviderExceptionQuerySet(models.QuerySet):
    def active(self, now=None):
        return self.filter(until__gt=now or timezone.now(), revoked_at__isnull=True)


class ProviderException(models.Model):
    """An owner's time-boxed permission to route to one provider that the account's or a key's
    provider lists would otherwise exclude. Privacy constraints stay hard."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="exceptions")
    key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, null=True, blank=True, related_name="exceptions"
    )
    provider = models.CharField(max_length=60)
    until = models.DateTimeField()
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    warned_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProviderExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["-until"]
        indexes = [
            # The expiry task scans exceptions that have not been marked expired yet.
            models.Index(fields=["expired_at", "until"], name="dashboard_exception_due_idx"),
        ]

    def __str__(self):
        scope = f"key {self.key.prefix}" if self.key_id else "the account"
        return f"{self.provider} allowed for {scope} until {self.until:%Y-%m-%d}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        CATALOG_CHANGE = "catalog_change", "Catalog change affecting my endpoints"
        EXCEPTION_EXPIRING = "exception_expiring", "Exception about to expire"
        EXCEPTION_EXPIRED = "exception_expired", "Exception expired"
        PROVIDER_JOINED = "provider_joined", "New provider joined"
        INQUIRY_UPDATE = "inquiry_update", "Answers to my privacy inquiries"
        INQUIRY_INBOX = "inquiry_inbox", "Privacy-team inbox (staff)"
        SETTINGS_REVIEW = "settings_review", "Reminder to review privacy settings"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The bell's unread count for the signed-in user.
            models.Index(fields=["user", "read_at"], name="dashboard_notif_unread_idx"),
        ]

    def __str__(self):
        return f"{self.kind} for {self.user}: {self.title}"


class EmailMute(models.Model):
    """A member who wants no email of one kind (the in-app notification stays)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_mutes"
    )
    kind = models.CharField(max_length=24, choices=Notification.Kind.choices)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], name="dashboard_emailmute_user_kind_uniq"
            )
        ]

    def __str__(self):
        return f"{self.user} mutes {self.kind} email"


class Receipt(models.Model):
    """What a `confidential` or `regulated` resolution decided: metadata only, never content."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="receipts")
    key_prefix = models.CharField(max_length=ApiKey.PREFIX_LENGTH)
    model = models.CharField(max_length=120)
    catalog_version = models.PositiveIntegerField()
    policy_hash = models.CharField(max_length=64)
    eligible = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The receipts page and export of one account, newest first.
            models.Index(fields=["account", "-created"], name="dashboard_receipt_acct_idx"),
        ]

    def __str__(self):
        return f"receipt {self.pk} of {self.account} for {self.model}"


class InquiryQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """An owner sees all the account's inquiries; everyone else only their own."""
        mine = self.filter(account=membership.account)
        return mine if membership.role == Role.OWNER else mine.filter(author_id=membership.user_id)

    def expired(self, cutoff):
        return self.filter(status=Inquiry.Status.CLOSED, closed_at__lt=cutoff)


class Inquiry(models.Model):
    """A question from an account to AnyAPI's privacy team, answered in a thread."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WAITING = "waiting", "Waiting on customer"
        CLOSED = "closed", "Closed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="inquiries")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_inquiries",
    )
    provider = models.ForeignKey(
        "catalog.Provider", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    endpoint = models.ForeignKey(
        "catalog.Endpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    change = models.ForeignKey(
        "catalog.PolicyChange", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = InquiryQuerySet.as_manager()

    class Meta:
        ordering = ["-updated", "-id"]
        verbose_name_plural = "inquiries"
        indexes = [
            # The privacy team's inbox tabs, most recently active first.
            models.Index(fields=["status", "-updated"], name="dashboard_inquiry_inbox_idx"),
            # An account's inquiry list.
            models.Index(fields=["account", "-updated"], name="dashboard_inquiry_acct_idx"),
            # The retention purge looks for inquiries closed before a cutoff.
            models.Index(fields=["closed_at"], name="dashboard_inquiry_closed_idx"),
        ]

    def __str__(self):
        return f"inquiry {self.pk} of {self.account}: {self.status}"

    # How the account's side names the statuses: "waiting on customer" is the team's word.
    CUSTOMER_LABELS = {
        Status.OPEN: "With the privacy team",
        Status.WAITING: "Answered",
        Status.CLOSED: "Closed",
    }

    @property
    def status_for_customer(self) -> str:
        return self.CUSTOMER_LABELS[self.status]


class InquiryMessage(models.Model):
    """One message of an inquiry's thread. Internal notes are the privacy team's own and are
    never shown, exported or sent to the customer."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_team = models.BooleanField(default=False)
    internal = models.BooleanField(default=False)
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(internal=True, from_team=False),
                name="dashboard_inquirymsg_internal_is_team",
            )
        ]

    def __str__(self):
        kind = "note" if self.internal else "message"
        return f"{kind} {self.pk} on inquiry {self.inquiry_id}"


class SettingsReview(models.Model):
    """When an account's privacy settings were last looked at, and what has happened since
    that makes another look worthwhile."""

    class How(models.TextChoices):
        SAVED = "saved", "saved"
        CONFIRMED = "confirmed", "confirmed unchanged"

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="settings_review"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    how = models.CharField(max_length=10, choices=How.choices, blank=True)
    # Catalog events since the last review, each {"at": iso time, "text": what happened}.
    reasons = models.JSONField(default=list, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"settings review of {self.account}"
