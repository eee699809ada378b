"""Plain-language badges for a policy, shared by the catalog pages and the activity page."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from catalog.policy import resolver
from catalog.policy.vocabulary import Publishing, Retention, Safety, Training


@dataclass(frozen=True)
class Badge:
    label: str
    tone: str  # good, bad, warn, neutral
    title: str


def training_badge(policy: resolver.Policy) -> Badge:
    if policy.training == Training.NO:
        return Badge("no training", "good", "The provider does not train on API data")
    if policy.training == Training.YES:
        return Badge("trains on data", "bad", "The provider may train on prompts and outputs")
    return Badge("training unknown", "warn", "Unknown counts as 'may train'")


def retention_badge(policy: resolver.Policy) -> Badge:
    if policy.retention == Retention.ZERO:
        return Badge("zero retention", "good", "Prompts and outputs are not kept")
    if policy.retention == Retention.DAYS:
        days = policy.retention_days
        return Badge(
            f"kept {days} d",
            "neutral" if days <= 30 else "warn",
            f"Prompts and outputs may be kept for {days} days",
        )
    if policy.retention == Retention.INDEFINITE:
        return Badge("kept indefinitely", "bad", "Prompts and outputs may be kept forever")
    return Badge("retention unknown", "warn", "Unknown counts as kept indefinitely")


def safety_badge(policy: resolver.Policy) -> Badge:
    if policy.safety_retention == Safety.NONE:
        return Badge("no safety retention", "good", "Nothing is kept even when flagged")
    if policy.safety_retention == Safety.FLAGGED_ONLY:
        return Badge(
            "flagged kept", "neutral", "Content flagged for abuse may be kept and reviewed"
        )
    return Badge("safety retention unknown", "warn", "Unknown counts as 'flagged content kept'")


def publishing_badge(policy: resolver.Policy) -> Badge | None:
    if policy.publishes_prompts == Publishing.YES:
        return Badge("publishes prompts", "bad", "The provider may publish prompts")
    if policy.publishes_prompts == Publishing.UNKNOWN:
        return Badge("publishing unknown", "warn", "Unknown counts as 'may publish'")
    return None


@dataclass(frozen=True)
class PolicyBadges:
    """A policy's badges by what they say, for pages with a column each; iterating gives them
    all in the order a one-cell page shows them."""

    training: Badge
    retention: Badge
    safety: Badge
    flags: tuple[Badge, ...]  # publishing, then certifications, then stale

    def __iter__(self) -> Iterator[Badge]:
        yield from (self.training, self.retention, self.safety, *self.flags)

    def __len__(self) -> int:
        return 3 + len(self.flags)


def policy_badges(policy: resolver.Policy, today: date) -> PolicyBadges:
    publishing = publishing_badge(policy)
    flags = [publishing] if publishing else []
    flags += [Badge(cert, "neutral", "Certification") for cert in sorted(policy.certifications)]
    if policy.is_stale(today):
        flags.append(Badge("stale", "bad", "Past its review date: `verified` excludes it"))
    return PolicyBadges(
        training_badge(policy), retention_badge(policy), safety_badge(policy), tuple(flags)
    )
