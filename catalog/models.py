from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.policy import vocabulary
from core.choices import text_choices


class Provider(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    headquarters = models.CharField(max_length=2, blank=True, help_text="ISO country code")
    aliases = models.JSONField(
        default=list, blank=True, help_text="other names: OpenRouter's slug and display names"
    )
    domains = models.JSONField(
        default=list, blank=True, help_text="own registrable domains; evidence must be on them"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.name

    def names(self) -> list[str]:
        """Slug, display name and aliases, lower-cased: what a request may call it."""
        return list(dict.fromkeys(n.lower() for n in (self.slug, self.name, *self.aliases)))


class LanguageModel(models.Model):
    slug = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=160)
    retired = models.BooleanField(default=False, help_text="no provider serves it any more")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug


class Endpoint(models.Model):
    """One model served by one provider: `<model slug>@<provider slug>`."""

    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="endpoints")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="endpoints")
    enabled = models.BooleanField(default=True)
    tags = models.JSONField(
        default=list, blank=True, help_text="OpenRouter endpoint tags, e.g. deepinfra/turbo"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model__slug", "provider__slug"]
        constraints = [
            # An endpoint id names one model at one provider; the catalog loader looks it up so.
            models.UniqueConstraint(
                fields=["model", "provider"], name="catalog_endpoint_model_provider_uniq"
            )
        ]

    def __str__(self):
        return self.endpoint_id

    @property
    def endpoint_id(self) -> str:
        return f"{self.model.slug}@{self.provider.slug}"

    @property
    def is_routable(self) -> bool:
        return self.enabled and not self.model.retired


class PolicyFields(models.Model):
    """The data-policy fields of PRODUCT.md §1. NULL means "not said at this level"."""

    # The stored values and Django's labels ("Flagged Only") of the vocabulary's value sets.
    Training = text_choices(vocabulary.Training)
    Retention = text_choices(vocabulary.Retention)
    Safety = text_choices(vocabulary.Safety)
    Publishing = text_choices(vocabulary.Publishing)

    training = models.CharField(max_length=10, choices=Training.choices, null=True, blank=True)
    retention = models.CharField(max_length=10, choices=Retention.choices, null=True, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    safety_retention = models.CharField(
        max_length=12, choices=Safety.choices, null=True, blank=True
    )
    publishes_prompts = models.CharField(
        max_length=10, choices=Publishing.choices, null=True, blank=True
    )
    certifications = models.JSONField(null=True, blank=True)
    regions = models.JSONField(null=True, blank=True)

    FIELDS = vocabulary.POLICY_FIELDS

    class Meta:
        abstract = True

    def given_fields(self) -> dict:
        values = {name: getattr(self, name) for name in self.FIELDS}
        return {name: value for name, value in values.items() if value is not None}


class PolicyVersionQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(status=PolicyVersion.Status.APPROVED)

    def pending(self):
        return self.filter(status=PolicyVersion.Status.PROPOSED)

    def current(self):
        """The newest approved version of every provider default and endpoint override (the
        same rule as `PolicyVersion.is_current`, for versions already loaded)."""
        return self.approved().filter(superseded_at__isnull=True)


class PolicyVersion(PolicyFields):
    """A provider's default policy (endpoint NULL) or one endpoint's override, as one version.

    Approved versions are immutable: a change is a new version that supersedes the old one.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed"
        APPROVED = "approved"
        REJECTED = "rejected"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="policies")
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.PROTECT, null=True, blank=True, related_name="policies"
    )
    number = models.PositiveIntegerField(help_text="version number within its provider/endpoint")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    source_url = models.URLField(max_length=500, blank=True)
    evidence = models.JSONField(
        default=dict,
        blank=True,
        help_text="field -> {quote, source_url, captured_at, basis, reference, condition, "
        "corroboration} (catalog.evidence.normalise)",
    )
    notes = models.JSONField(default=dict, blank=True, help_text="field -> why it is unknown")
    verified_by = models.CharField(max_length=254, blank=True)
    verified_at = models.DateField(null=True, blank=True)
    review_due = models.DateField(null=True, blank=True)

    class Origin(models.TextChoices):
        IMPORT = "import"  # loadcatalog
        REFRESH = "refresh"  # a JSON source stated the values
        REVIEW = "review"  # a reviewer edited a detected change's values
        MANUAL = "manual"  # a reviewer proposed a change by hand

    origin = models.CharField(max_length=40, choices=Origin.choices, default=Origin.MANUAL)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    catalog_version = models.PositiveIntegerField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["provider__slug", "endpoint_id", "-number"]
        constraints = [
            # Version numbers count up per provider default and per endpoint override.
            models.UniqueConstraint(
                fields=["provider", "number"],
                condition=Q(endpoint__isnull=True),
                name="catalog_policy_default_number_uniq",
            ),
            models.UniqueConstraint(
                fields=["endpoint", "number"],
                condition=Q(endpoint__isnull=False),
                name="catalog_policy_override_number_uniq",
            ),
            # At most one current approved version per subject: what the snapshot compiles.
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(endpoint__isnull=True, status="approved", superseded_at__isnull=True),
                name="catalog_policy_one_current_default_uniq",
            ),
            models.UniqueConstraint(
                fields=["endpoint"],
                condition=Q(endpoint__isnull=False, status="approved", superseded_at__isnull=True),
                name="catalog_policy_one_current_override_uniq",
            ),
            models.CheckConstraint(
                condition=Q(retention_days__isnull=True)
                | Q(retention="days", retention_days__gte=1),
                name="catalog_policyversion_days_only_with_days",
            ),
        ]
        indexes = [
            # The review queue lists pending proposals newest first.
            models.Index(fields=["status", "-created"], name="catalog_policy_status_idx"),
        ]

    def __str__(self):
        return f"{self.subject} v{self.number} ({self.status})"

    CONTENT_FIELDS = (
        *PolicyFields.FIELDS,
        "source_url",
        "evidence",
        "notes",
        "verified_by",
        "verified_at",
        "review_due",
    )

    def save(self, *args, **kwargs):
        if self.pk and self._changes_approved_content():
            raise ImmutablePolicyVersion(f"{self} is approved; propose a new version instead")
        super().save(*args, **kwargs)

    @property
    def is_current(self) -> bool:
        return self.status == self.Status.APPROVED and self.superseded_at is None

    def in_effect(self, at: datetime) -> bool:
        """Whether this approved version was the one in effect at `at` (the rule
        `compile.versions_in_effect` applies in the database)."""
        return self.decided_at <= at and (self.superseded_at is None or self.superseded_at > at)

    @classmethod
    def content_of(cls, version: "PolicyVersion | None") -> dict:
        """What a new version starts from: `version`'s content, or nothing stated."""
        return {name: getattr(version, name) if version else None for name in cls.CONTENT_FIELDS}

    def _changes_approved_content(self) -> bool:
        approved = PolicyVersion.objects.approved().filter(pk=self.pk)
        stored = approved.values(*self.CONTENT_FIELDS).first()
        return stored is not None and any(
            stored[name] != getattr(self, name) for name in self.CONTENT_FIELDS
        )

    @property
    def subject(self) -> str:
        return self.endpoint.endpoint_id if self.endpoint_id else self.provider.slug


class ImmutablePolicyVersion(Exception):
    pass


class CatalogState(models.Model):
    """A single row holding the catalog version, raised by every approved change."""

    version = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"catalog v{self.version}"

    @classmethod
    def current_version(cls) -> int:
        state = cls.objects.filter(pk=1).values_list("version", flat=True).first()
        return state or 0

    @classmethod
    def bump(cls) -> int:
        """Raise the version inside the caller's transaction and return the new number."""
        cls.objects.get_or_create(pk=1)
        cls.objects.filter(pk=1).update(version=F("version") + 1)
        return cls.objects.get(pk=1).version


# --- Watching providers' published policies (refresh jobs) ------------------------------------


class PolicySource(models.Model):
    """A page (or JSON document) where a provider publishes its data policy."""

    class Kind(models.TextChoices):
        PRIVACY_POLICY = "privacy_policy", "Privacy policy"
        API_DATA_USAGE = "api_data_usage", "API data usage"
        DPA = "dpa", "Data processing addendum"
        ZERO_RETENTION = "zero_retention", "Zero-retention page"
        JSON = "json", "Machine-readable JSON"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.API_DATA_USAGE)
    url = models.URLField(max_length=500)
    select = models.CharField(max_length=300, blank=True, help_text="CSS selector of the text")
    remove = models.JSONField(default=list, blank=True, help_text="CSS selectors to drop")
    interval_hours = models.PositiveIntegerField(default=12)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    baseline = models.ForeignKey(
        "SourceText", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_kind = models.CharField(max_length=20, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    failure_streak = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider__slug", "url"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "url"], name="catalog_source_provider_url_uniq"
            )
        ]
        indexes = [
            # Beat's scan for sources whose turn has come.
            models.Index(fields=["enabled", "next_run_at"], name="catalog_source_due_idx"),
        ]

    def __str__(self):
        return f"{self.provider.slug}: {self.url}"


class Snapshot(models.Model):
    """A raw fetched body, compressed and stored once per distinct content hash."""

    content_hash = models.CharField(max_length=64, unique=True)
    body = models.BinaryField()
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=120, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"snapshot {self.content_hash[:12]} ({self.size} bytes)"


class Fetch(models.Model):
    """One attempt to fetch a source, successful or not."""

    class Outcome(models.TextChoices):
        BASELINE = "baseline", "baseline set"
        UNCHANGED = "unchanged", "unchanged"
        NOT_MODIFIED = "not_modified", "not modified"
        CHANGED = "changed", "changed"
        FAILED = "failed", "failed"

    source = models.ForeignKey(PolicySource, on_delete=models.CASCADE, related_name="fetches")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.SET_NULL, null=True, blank=True)
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    status = models.PositiveIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    error_kind = models.CharField(max_length=20, blank=True)
    elapsed_ms = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The source health page shows each source's latest fetches.
            models.Index(fields=["source", "-created"], name="catalog_fetch_source_idx"),
        ]

    def __str__(self):
        return f"{self.source} {self.outcome} at {self.created:%Y-%m-%d %H:%M}"


class SourceText(models.Model):
    """The normalized text (or canonical JSON) extracted from one snapshot of a source."""

    source = models.ForeignKey(PolicySource, on_delete=models.CASCADE, related_name="texts")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="texts")
    text = models.TextField()
    text_hash = models.CharField(max_length=64, help_text="SHA-256 of the comparison key")
    extractor = models.PositiveSmallIntegerField(default=1, help_text="extraction rules version")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"text {self.text_hash[:12]} of {self.source}"


class SourceAlertQuerySet(models.QuerySet):
    def open(self):
        return self.filter(closed_at__isnull=True)


class RefreshRunQuerySet(models.QuerySet):
    def running(self, since):
        """Runs begun since `since` and not finished; older unfinished ones count as lost."""
        return self.filter(finished_at__isnull=True, created__gte=since)


class PolicyChangeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=PolicyChange.OPEN_STATUSES)


class PolicyChange(models.Model):
    """A detected difference on a source: a proposal until a second person decides."""

    class Status(models.TextChoices):
        OPEN = "open"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"  # the page went back to the approved text before a decision

    source = models.ForeignKey(
        PolicySource, on_delete=models.CASCADE, null=True, blank=True, related_name="changes"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="changes")
    before = models.ForeignKey(
        SourceText, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    after = models.ForeignKey(
        SourceText, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    material = models.BooleanField(default=False)
    diff = models.JSONField(default=list, blank=True, help_text="[op, before, after] sentence runs")
    evidence_missing = models.JSONField(default=list, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    # Raised by every update (a newer detection, edited field values): what a reviewer's
    # decision is bound to.
    revision = models.PositiveIntegerField(default=1)
    history = models.JSONField(default=list, blank=True, help_text="texts this change replaced")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PolicyChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The review queue: open items newest first, filterable by provider.
            models.Index(fields=["status", "-created"], name="catalog_change_queue_idx"),
        ]

    # Awaiting a decision: the queue's "pending", and what a reviewer may still decide.
    OPEN_STATUSES = (Status.OPEN, Status.CHANGES_REQUESTED)

    def __str__(self):
        return f"change {self.pk} of {self.provider.slug} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class ReviewEvent(models.Model):
    """A comment with a decision on a change; a comment is always required."""

    change = models.ForeignKey(PolicyChange, on_delete=models.CASCADE, related_name="events")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Action(models.TextChoices):
        EDITED = "edited", "edited the field values"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"
        CHANGES_REQUESTED = "changes_requested", "requested changes"

    action = models.CharField(max_length=20, choices=Action.choices)
    comment = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.action} by {self.author} on change {self.change_id}"


class SourceAlert(models.Model):
    """One open "source failing" item per source, closed when the source recovers."""

    source = models.ForeignKey(PolicySource, on_delete=models.CASCADE, related_name="alerts")
    last_error = models.CharField(max_length=500)
    closed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = SourceAlertQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(closed_at__isnull=True),
                name="catalog_alert_one_open_uniq",
            )
        ]

    def __str__(self):
        return f"{self.source} failing"


class RefreshRun(models.Model):
    """A "refresh now" over many sources, with its progress for the live progress bar."""

    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RefreshRunQuerySet.as_manager()

    def __str__(self):
        return f"refresh run {self.pk}: {self.done}/{self.total}"
