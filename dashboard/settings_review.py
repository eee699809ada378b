"""Reviewing the privacy settings regularly (the seed: "especially as new providers join").

An account's settings count as reviewed when an owner or admin saves them or confirms them
unchanged. Owners are reminded PRIVACY_REVIEW_INTERVAL_DAYS after the last review (and every
interval after that while nobody looks), and sooner when a provider joins the catalog or an
approved change alters which endpoints the account's settings allow: those events are
`flag`ged on the account, and the next reminder run names them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dashboard import audit
from dashboard.models import Account, Notification, Role, SettingsReview

How = SettingsReview.How
# Reasons kept per account until the next review; older ones are dropped first.
MAX_REASONS = 20


def interval() -> timedelta:
    return timedelta(days=settings.PRIVACY_REVIEW_INTERVAL_DAYS)


@dataclass(frozen=True)
class ReviewState:
    """What the privacy settings page says about the last review."""

    reviewed_at: datetime | None
    reviewed_by: str
    how: str
    since: datetime
    due: datetime
    reasons: list[str]

    @property
    def is_due(self) -> bool:
        return bool(self.reasons) or self.due <= timezone.now()


def state_of(account) -> ReviewState:
    review = SettingsReview.objects.select_related("reviewed_by").filter(account=account).first()
    if review is None:
        review = SettingsReview(account=account)
    since = review.reviewed_at or account.created
    return ReviewState(
        reviewed_at=review.reviewed_at,
        reviewed_by=review.reviewed_by.email if review.reviewed_by else "",
        how=review.get_how_display() if review.how else "",
        since=since,
        due=since + interval(),
        reasons=[reason["text"] for reason in review.reasons],
    )


def _locked(account) -> SettingsReview:
    SettingsReview.objects.get_or_create(account=account)
    return SettingsReview.objects.select_for_update().get(account=account)


@transaction.atomic
def mark_reviewed(account, how, *, request=None, actor=None, actor_label=None):
    review = _locked(account)
    user = getattr(request, "user", None)
    before = {"reviewed_at": review.reviewed_at.isoformat() if review.reviewed_at else None}
    review.reviewed_at = timezone.now()
    review.reviewed_by = actor or (user if user and user.is_authenticated else None)
    review.how, review.reasons, review.flagged_at = how, [], None
    review.save()
    audit.record(
        "privacy.settings_reviewed",
        account=account,
        actor=actor,
        actor_label=actor_label,
        request=request,
        target=account.slug,
        before=before,
        after={"reviewed_at": review.reviewed_at.isoformat(), "how": how},
    )
    return review


@transaction.atomic
def flag(account, text: str, now=None) -> None:
    """Something in the catalog changed for this account: remind its owners soon."""
    now = now or timezone.now()
    review = _locked(account)
    review.reasons = [*review.reasons, {"at": now.isoformat(), "text": text}][-MAX_REASONS:]
    review.flagged_at = now
    review.save(update_fields=["reasons", "flagged_at", "updated"])


# --- Reminders ---------------------------------------------------------------------------------


def _occasion(review, created, now) -> datetime | None:
    """The latest moment that called for a reminder: a whole interval passed since the last
    review (or the one before), or a catalog event flagged since."""
    since = review.reviewed_at or created
    passed = (now - since) // interval()
    moments = [since + passed * interval()] if passed >= 1 else []
    moments += [review.flagged_at] if review.flagged_at else []
    return max(moments, default=None)


def _candidates(now):
    cutoff = now - interval()
    never = Q(settings_review__isnull=True) | Q(settings_review__reviewed_at__isnull=True)
    return Account.objects.select_related("settings_review").filter(
        (never & Q(created__lte=cutoff))
        | Q(settings_review__reviewed_at__lte=cutoff)
        | Q(settings_review__flagged_at__isnull=False)
    )


def remind_due(now=None) -> list[Account]:
    """Remind the owners of every account whose settings are due a review; returns those."""
    now = now or timezone.now()
    reminded = []
    for account in _candidates(now).order_by("pk").iterator():
        review = getattr(account, "settings_review", None) or _locked(account)
        occasion = _occasion(review, account.created, now)
        if occasion is None or (review.reminded_at and review.reminded_at >= occasion):
            continue
        # Claimed with a conditional update: two runs at once remind once.
        claim = SettingsReview.objects.filter(pk=review.pk, reminded_at=review.reminded_at)
        if claim.update(reminded_at=now):
            _remind(account, review, now)
            reminded.append(account)
    return reminded


def _remind(account, review, now) -> None:
    # Imported here: notifications flags accounts through this module when the catalog changes.
    from dashboard.notifications import notify_people

    owners = get_user_model().objects.filter(
        memberships__account=account, memberships__role=Role.OWNER
    )
    notify_people(
        account,
        owners,
        Notification.Kind.SETTINGS_REVIEW,
        f"Time to review the privacy settings of {account.name}",
        _reminder_body(account, review, now),
        reverse("privacy_settings", args=[account.slug]),
    )


def _reminder_body(account, review, now) -> str:
    if review.reviewed_at:
        days = (now - review.reviewed_at).days
        lines = [f"They were last reviewed {days} days ago, on {review.reviewed_at:%Y-%m-%d}."]
    else:
        lines = [
            f"They have not been reviewed since the account was created on "
            f"{account.created:%Y-%m-%d}."
        ]
    if review.reasons:
        lines += ["Since then:", *(f"- {reason['text']}" for reason in review.reasons)]
    lines.append(
        "Open the privacy settings and save them, or confirm with one click that they are "
        "still right."
    )
    return "\n".join(lines)
