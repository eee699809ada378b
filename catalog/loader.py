"""`loadcatalog`: write a validated catalog file. All of it, or nothing."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from catalog.catalog_file import CatalogFile, PolicyIn
from catalog.models import CatalogState, Endpoint, LanguageModel, PolicyVersion, Provider
from catalog.policy import snapshot
from catalog.review import versions as review


@dataclass
class LoadReport:
    created: dict = field(default_factory=lambda: {"providers": 0, "models": 0, "endpoints": 0})
    imported: int = 0
    proposed: int = 0
    approved: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "imported": self.imported,
            "proposed": self.proposed,
            "approved": self.approved,
            "unchanged": self.unchanged,
        }


def version_content(policy: PolicyIn, inherited: PolicyIn | None = None) -> dict:
    """The stored content of a policy level. An endpoint override with no dates of its own
    was verified together with its provider's policy, so it takes those dates."""
    dates_from = policy if policy.review_due or inherited is None else inherited
    content = {name: None for name in PolicyVersion.FIELDS}
    content.update(policy.fields())
    content.update(
        source_url=policy.source_url or "",
        evidence=policy.evidence_dict(),
        notes=dict(sorted(policy.notes.items())),
        verified_by=policy.verified_by or "",
        verified_at=dates_from.verified_at,
        review_due=dates_from.review_due,
    )
    return content


def same_content(version: PolicyVersion | None, content: dict) -> bool:
    return version is not None and all(
        getattr(version, name) == value for name, value in content.items()
    )


def _keep(instance, **values) -> bool:
    """Set what the file says on an existing row; whether anything changed."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    if changed:
        instance.save(update_fields=[*changed, "updated"])
    return bool(changed)


class Loader:
    def __init__(self, approve_as=None):
        self.approve_as = approve_as
        self.report = LoadReport()
        self.first_import = not PolicyVersion.objects.exists()
        self.started = timezone.now()
        self.touched = False  # rows created or changed besides policy versions

    def load(self, catalog: CatalogFile) -> LoadReport:
        with transaction.atomic():
            providers = {p.slug: (self._provider(p), p.policy) for p in catalog.providers}
            models = {m.slug: self._model(m) for m in catalog.models}
            for provider, policy in providers.values():
                self._policy(provider, None, version_content(policy))
            for item in catalog.endpoints:
                provider, provider_policy = providers[item.provider]
                endpoint = self._endpoint(models[item.model], provider, item)
                if item.policy is not None and not item.policy.is_empty():
                    content = version_content(item.policy, inherited=provider_policy)
                    self._policy(provider, endpoint, content)
            if self.touched and not (self.report.imported or self.report.approved):
                # New endpoints and changed names must reach every process's snapshot too.
                CatalogState.bump()
                snapshot.announce_change()
        return self.report

    def _provider(self, item) -> Provider:
        provider, created = Provider.objects.get_or_create(
            slug=item.slug, defaults={"name": item.name, "headquarters": item.headquarters or ""}
        )
        self.report.created["providers"] += created
        # Names and domains say who the provider is, not what it promises: the file keeps them.
        self.touched |= created | _keep(provider, aliases=item.aliases, domains=item.domains)
        return provider

    def _model(self, item) -> LanguageModel:
        model, created = LanguageModel.objects.get_or_create(
            slug=item.slug, defaults={"name": item.name, "retired": item.retired}
        )
        self.report.created["models"] += created
        self.touched |= _keep(model, retired=item.retired)
        return model

    def _endpoint(self, model, provider, item) -> Endpoint:
        endpoint, created = Endpoint.objects.get_or_create(
            model=model, provider=provider, defaults={"enabled": item.enabled, "tags": item.tags}
        )
        self.report.created["endpoints"] += created
        self.touched |= created | _keep(endpoint, tags=item.tags)
        return endpoint

    def _policy(self, provider, endpoint, content) -> None:
        current = review.current_version(provider, endpoint)
        pending = PolicyVersion.objects.pending().filter(provider=provider, endpoint=endpoint)
        if same_content(current, content) or any(same_content(v, content) for v in pending):
            self.report.unchanged += 1
            return
        version = review.propose(provider, endpoint, content, origin=PolicyVersion.Origin.IMPORT)
        if self.first_import:
            review.apply_import(version, at=self.started)
            self.report.imported += 1
        elif self.approve_as is not None:
            review.approve(version, self.approve_as, "approved on import by --approve-as")
            self.report.approved += 1
        else:
            self.report.proposed += 1
