"""Membership rules: who may invite, promote and remove whom. Every change is audited."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard import audit
from dashboard.mail import send_plain
from dashboard.models import Invitation, Membership, Role


class MembershipRuleError(Exception):
    pass


@transaction.atomic
def invite(request, membership, email, role) -> tuple[Invitation, bool]:
    """Invite `email`, replacing a pending invitation of the same address (its link stops
    working), so one person never holds two; returns the invitation and whether it replaced."""
    earlier = membership.account.invitations.pending().filter(email__iexact=email)
    replaced = bool(earlier.update(revoked_at=timezone.now()))
    invitation, token = Invitation.issue(membership.account, email, role, request.user)
    audit.record(
        "member.invited",
        account=membership.account,
        request=request,
        target=invitation.email,
        after={"email": invitation.email, "role": role, "replaces_earlier": replaced},
    )
    # Last, inside the transaction: a mail that cannot be sent leaves no invitation behind.
    link = settings.SITE_URL + reverse("accept_invitation", args=[token])
    send_plain(
        f"You are invited to {membership.account} on AnyAPI",
        f"{request.user.email} invited you to the account {membership.account} as {role}.\n\n"
        f"Accept within 7 days:\n{link}\n",
        [invitation.email],
    )
    return invitation, replaced


@transaction.atomic
def accept(request, invitation, user) -> Membership:
    membership, created = Membership.objects.get_or_create(
        account=invitation.account, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated"])
    if created:
        audit.record(
            "member.joined",
            account=invitation.account,
            actor=user,
            request=request,
            target=user.email,
            after={"role": membership.role},
        )
    return membership


def _check_may_change(actor: Membership, subject: Membership, new_role=None):
    if not actor.can_manage:
        raise MembershipRuleError("Only owners and admins can change members.")
    touches_owner = subject.role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and actor.role != Role.OWNER:
        raise MembershipRuleError("Only an owner can change an owner or make someone an owner.")
    losing_owner = subject.role == Role.OWNER and new_role != Role.OWNER
    others = Membership.objects.filter(account=subject.account, role=Role.OWNER)
    if losing_owner and not others.exclude(pk=subject.pk).exists():
        raise MembershipRuleError("An account needs at least one owner.")


@transaction.atomic
def change_role(request, actor: Membership, subject: Membership, role: str):
    _check_may_change(actor, subject, new_role=role)
    before = subject.role
    subject.role = role
    subject.save(update_fields=["role", "updated"])
    audit.record(
        "member.role_changed",
        account=subject.account,
        request=request,
        target=subject.user.email,
        before={"role": before},
        after={"role": role},
    )


@transaction.atomic
def remove(request, actor: Membership, subject: Membership):
    _check_may_change(actor, subject, new_role=None)
    subject.delete()
    audit.record(
        "member.removed",
        account=subject.account,
        request=request,
        target=subject.user.email,
        before={"role": subject.role},
    )


@transaction.atomic
def revoke_invitation(request, invitation: Invitation):
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated"])
    audit.record(
        "member.invitation_revoked",
        account=invitation.account,
        request=request,
        target=invitation.email,
    )
