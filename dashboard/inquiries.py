"""Privacy inquiries: a member asks AnyAPI's privacy team, the team answers in a thread.

Every state change (opened, answered, waiting, closed, reopened, assigned, deleted) is audited,
and both sides are told in the app and by email (muteable per kind). What people write is
treated as sensitive: message bodies and subjects never reach the audit log, a log line, an
email or a notification; those only say that something happened and where to read it.
Internal notes are the team's own: never shown, exported or notified to the customer, and
audited without the account so they stay out of the account's audit log.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard import audit
from dashboard.models import Inquiry, InquiryMessage, Notification, Role
from dashboard.notifications import notify_people

Status = Inquiry.Status
Kind = Notification.Kind
MAX_SUBJECT = 200
MAX_MESSAGE = 4000
TEAM_LABEL = "AnyAPI privacy team"


class InquiryClosed(Exception):
    """The privacy team reopens a closed inquiry before answering it."""


# --- Who hears about it -----------------------------------------------------------------------


def privacy_team():
    return get_user_model().objects.filter(groups__name=settings.PRIVACY_TEAM_GROUP, is_active=True)


def _team_recipients(inquiry):
    """The assigned reviewer, or the whole team while nobody has taken it."""
    team = privacy_team()
    if inquiry.assignee_id:
        assigned = team.filter(pk=inquiry.assignee_id)
        if assigned.exists():
            return assigned
    return team


def _customer_recipients(inquiry):
    """The member who asked, or the account's owners once that member has left."""
    people = get_user_model().objects.filter(memberships__account=inquiry.account_id)
    author = people.filter(pk=inquiry.author_id)
    return author if author.exists() else people.filter(memberships__role=Role.OWNER)


def _tell_team(inquiry, what: str) -> None:
    url = reverse("inbox_detail", args=[inquiry.pk])
    title = f"Inquiry #{inquiry.pk} from {inquiry.account.name}: {what}"
    notify_people(inquiry.account, _team_recipients(inquiry), Kind.INQUIRY_INBOX, title, "", url)


def _tell_customer(inquiry, what: str) -> None:
    url = reverse("inquiry_detail", args=[inquiry.account.slug, inquiry.pk])
    title = f"Your privacy inquiry #{inquiry.pk}: {what}"
    body = "Open the inquiry in the dashboard to read it."
    notify_people(
        inquiry.account, _customer_recipients(inquiry), Kind.INQUIRY_UPDATE, title, body, url
    )


# --- Changes, each audited ----------------------------------------------------------------------


def _target(inquiry) -> str:
    return f"inquiry #{inquiry.pk}"


def _locked(inquiry) -> Inquiry:
    return Inquiry.objects.select_for_update().select_related("account").get(pk=inquiry.pk)


def _move(inquiry, status, request, actor=None) -> bool:
    """Set the status and audit the move; False when it was already there."""
    if inquiry.status == status:
        return False
    before = inquiry.status
    inquiry.status = status
    inquiry.closed_at = timezone.now() if status == Status.CLOSED else None
    inquiry.save(update_fields=["status", "closed_at", "updated"])
    audit.record(
        "inquiry.status_changed",
        account=inquiry.account,
        actor=actor,
        request=request,
        target=_target(inquiry),
        before={"status": before},
        after={"status": status},
    )
    return True


def _add_message(inquiry, author, body, *, from_team=False, internal=False):
    message = InquiryMessage.objects.create(
        inquiry=inquiry, author=author, body=body, from_team=from_team, internal=internal
    )
    inquiry.save(update_fields=["updated"])
    return message


@transaction.atomic
def open_inquiry(
    membership, subject, body, *, provider=None, endpoint=None, change=None, request=None
) -> Inquiry:
    inquiry = Inquiry.objects.create(
        account=membership.account,
        author=membership.user,
        subject=subject,
        provider=provider,
        endpoint=endpoint,
        change=change,
    )
    InquiryMessage.objects.create(inquiry=inquiry, author=membership.user, body=body)
    related = {
        "provider": provider.slug if provider else None,
        "endpoint": endpoint.endpoint_id if endpoint else None,
        "change": change.pk if change else None,
    }
    audit.record(
        "inquiry.opened",
        account=inquiry.account,
        actor=membership.user,
        request=request,
        target=_target(inquiry),
        after={"status": Status.OPEN, **{k: v for k, v in related.items() if v}},
    )
    _tell_team(inquiry, "new inquiry")
    return inquiry


@transaction.atomic
def customer_reply(inquiry, user, body, *, request=None) -> InquiryMessage:
    """A reply from the account puts the inquiry back in the team's open tab, closed or not."""
    inquiry = _locked(inquiry)
    message = _add_message(inquiry, user, body)
    _move(inquiry, Status.OPEN, request, user)
    _tell_team(inquiry, "the customer replied")
    return message


@transaction.atomic
def team_reply(inquiry, reviewer, body, *, request=None) -> InquiryMessage:
    """An answer waits on the customer; a closed inquiry is reopened first, on purpose."""
    inquiry = _locked(inquiry)
    if inquiry.status == Status.CLOSED:
        raise InquiryClosed("Reopen the inquiry before answering it.")
    message = _add_message(inquiry, reviewer, body, from_team=True)
    _move(inquiry, Status.WAITING, request, reviewer)
    _tell_customer(inquiry, "the privacy team answered")
    return message


@transaction.atomic
def add_note(inquiry, reviewer, body, *, request=None) -> InquiryMessage:
    inquiry = _locked(inquiry)
    note = _add_message(inquiry, reviewer, body, from_team=True, internal=True)
    audit.record("inquiry.note_added", actor=reviewer, request=request, target=_target(inquiry))
    return note


@transaction.atomic
def close(inquiry, user, *, by_team: bool, request=None) -> bool:
    inquiry = _locked(inquiry)
    if not _move(inquiry, Status.CLOSED, request, user):
        return False
    if by_team:
        _tell_customer(inquiry, "closed by the privacy team")
    else:
        _tell_team(inquiry, "closed by the customer")
    return True


@transaction.atomic
def set_status(inquiry, reviewer, status, *, request=None) -> bool:
    """The team moves an inquiry between its inbox tabs."""
    if status == Status.CLOSED:
        return close(inquiry, reviewer, by_team=True, request=request)
    inquiry = _locked(inquiry)
    return _move(inquiry, status, request, reviewer)


@transaction.atomic
def assign(inquiry, reviewer, assignee, *, request=None) -> bool:
    """Give the inquiry to a privacy-team member (or to nobody); the assignee is told."""
    inquiry = _locked(inquiry)
    if inquiry.assignee_id == (assignee.pk if assignee else None):
        return False
    before = inquiry.assignee.email if inquiry.assignee_id else None
    inquiry.assignee = assignee
    inquiry.save(update_fields=["assignee", "updated"])
    audit.record(
        "inquiry.assigned",
        account=inquiry.account,
        actor=reviewer,
        request=request,
        target=_target(inquiry),
        before={"assignee": before},
        after={"assignee": assignee.email if assignee else None},
    )
    if assignee and assignee != reviewer:
        notify_people(
            inquiry.account,
            [assignee],
            Kind.INQUIRY_INBOX,
            f"Inquiry #{inquiry.pk} from {inquiry.account.name}: assigned to you",
            "",
            reverse("inbox_detail", args=[inquiry.pk]),
        )
    return True


def record_proposal(inquiry, reviewer, provider, *, request=None) -> None:
    """A good question becoming a catalog proposal leaves a note on the thread."""
    add_note(
        inquiry,
        reviewer,
        f"Started a manual catalog proposal for {provider.name} ({provider.slug}).",
        request=request,
    )


# --- Keeping little -----------------------------------------------------------------------------


def retention() -> timedelta:
    return timedelta(days=settings.INQUIRY_RETENTION_DAYS)


@transaction.atomic
def purge_expired(now=None) -> int:
    """Delete inquiries closed longer ago than the retention period, with their threads."""
    cutoff = (now or timezone.now()) - retention()
    expired = list(Inquiry.objects.expired(cutoff).select_related("account"))
    for inquiry in expired:
        audit.record(
            "inquiry.deleted",
            account=inquiry.account,
            actor_label="retention",
            target=_target(inquiry),
            before={"status": inquiry.status, "closed_at": inquiry.closed_at.isoformat()},
        )
    Inquiry.objects.filter(pk__in=[inquiry.pk for inquiry in expired]).delete()
    return len(expired)


def delete_for_account(account) -> int:
    """Every inquiry of the account, with their threads; the number of inquiries deleted."""
    deleted = Inquiry.objects.filter(account=account).delete()[1]
    return deleted.get(Inquiry._meta.label, 0)


def count_for_account(account) -> int:
    return Inquiry.objects.filter(account=account).count()


# --- The account's export -----------------------------------------------------------------------

EXPORT_INQUIRY_COLUMNS = [
    "inquiry",
    "opened",
    "asked_by",
    "subject",
    "status",
    "provider",
    "endpoint",
    "catalog_change",
    "closed",
]
EXPORT_MESSAGE_COLUMNS = ["inquiry", "time", "from", "message"]


def _iso(moment) -> str:
    return moment.isoformat() if moment else ""


def export_inquiry_rows(account):
    inquiries = (
        Inquiry.objects.filter(account=account)
        .select_related("author", "provider", "endpoint__model", "endpoint__provider")
        .order_by("created", "id")
    )
    for inquiry in inquiries.iterator(chunk_size=500):
        yield (
            inquiry.pk,
            _iso(inquiry.created),
            inquiry.author.email if inquiry.author else "",
            inquiry.subject,
            inquiry.get_status_display(),
            inquiry.provider.slug if inquiry.provider else "",
            inquiry.endpoint.endpoint_id if inquiry.endpoint else "",
            inquiry.change_id or "",
            _iso(inquiry.closed_at),
        )


def customer_messages(inquiries):
    """The messages a customer may see: everything but the team's internal notes."""
    return InquiryMessage.objects.filter(internal=False, inquiry__in=inquiries)


def author_label(message) -> str:
    """How the customer's side names a message's author: the team answers as one."""
    if message.from_team:
        return TEAM_LABEL
    return message.author.email if message.author else "former member"


def export_message_rows(account):
    inquiries = Inquiry.objects.filter(account=account)
    messages = customer_messages(inquiries).select_related("author").order_by("inquiry", "id")
    for message in messages.iterator(chunk_size=500):
        yield (message.inquiry_id, _iso(message.created), author_label(message), message.body)
