from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.access import account_member, accounts_of, is_privacy_team, public, signed_in
from dashboard import audit, members
from dashboard.forms import AccountForm, InviteForm, RoleForm, SignUpForm, new_user
from dashboard.models import Account, AuditEvent, Invitation, Membership, Role, unique_account_slug


@signed_in
def home(request):
    slug = request.session.get("current_account")
    account = (
        accounts_of(request.user).filter(slug=slug).first() or accounts_of(request.user).first()
    )
    if account is None:
        # The privacy team works on the catalog; most of them belong to no customer account.
        return redirect("review_queue" if is_privacy_team(request.user) else "account_list")
    return redirect("activity", account_slug=account.slug)


@signed_in
def account_list(request):
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = _create_account(request, form.cleaned_data["name"])
        messages.success(request, f"Account {account} created. You are its owner.")
        return redirect("account_overview", account_slug=account.slug)
    memberships = Membership.objects.filter(user=request.user).select_related("account")
    return render(
        request, "dashboard/account_list.html", {"form": form, "memberships": memberships}
    )


@transaction.atomic
def _create_account(request, name):
    account = Account.objects.create(name=name, slug=unique_account_slug(name))
    Membership.objects.create(account=account, user=request.user, role=Role.OWNER)
    audit.record(
        "account.created",
        account=account,
        request=request,
        target=account.slug,
        after={"name": name, "owner": request.user.email},
    )
    return account


@account_member
def account_overview(request):
    account = request.account
    context = {
        "member_count": account.memberships.count(),
        "active_key_count": account.api_keys.active().count(),
        "recent_events": AuditEvent.objects.for_account(account)[:5]
        if request.membership.can_manage
        else [],
    }
    return render(request, "dashboard/account_overview.html", context)


@account_member(managers_write="Only owners and admins can invite members.")
def member_list(request):
    form = InviteForm(request.POST or None, membership=request.membership)
    if request.method == "POST" and form.is_valid():
        invitation, replaced = members.invite(request, request.membership, **form.cleaned_data)
        again = " again; the earlier link no longer works" if replaced else ""
        messages.success(request, f"Invitation sent to {invitation.email}{again}.")
        return redirect("member_list", account_slug=request.account.slug)
    context = {
        "form": form,
        "memberships": request.account.memberships.select_related("user"),
        "invitations": request.account.invitations.pending(),
        "roles": Role.choices,
    }
    return render(request, "dashboard/member_list.html", context)


def _get_membership_for_user(request, pk) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=pk, account=request.account
    )


@require_POST
@account_member(manage=True)
def member_change_role(request, pk):
    subject = _get_membership_for_user(request, pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        _apply_rule(
            request,
            members.change_role,
            subject,
            form.cleaned_data["role"],
            success=f"{subject.user.email} is now {form.cleaned_data['role']}.",
        )
    return redirect("member_list", account_slug=request.account.slug)


@require_POST
@account_member(manage=True)
def member_remove(request, pk):
    subject = _get_membership_for_user(request, pk)
    _apply_rule(
        request,
        members.remove,
        subject,
        success=f"{subject.user.email} was removed from the account.",
    )
    return redirect("member_list", account_slug=request.account.slug)


def _apply_rule(request, change, subject, *args, success):
    try:
        change(request, request.membership, subject, *args)
    except members.MembershipRuleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)


@require_POST
@account_member(manage=True)
def invitation_revoke(request, pk):
    invitation = get_object_or_404(Invitation.objects.pending(), pk=pk, account=request.account)
    members.revoke_invitation(request, invitation)
    messages.success(request, f"Invitation of {invitation.email} revoked.")
    return redirect("member_list", account_slug=request.account.slug)


@public
def accept_invitation(request, token):
    invitation = Invitation.find_pending(token)
    if invitation is None:
        return render(request, "dashboard/invitation_invalid.html", status=404)
    user = get_user_model().objects.filter(email__iexact=invitation.email).first()
    if user is None:
        return _sign_up_and_accept(request, invitation)
    if request.user != user:
        return render(request, "dashboard/invitation_signin.html", {"invitation": invitation})
    if request.method == "POST":
        members.accept(request, invitation, user)
        messages.success(request, _welcome(invitation.account))
        return redirect("account_overview", account_slug=invitation.account.slug)
    return render(request, "dashboard/invitation_accept.html", {"invitation": invitation})


def _welcome(account) -> str:
    name = str(account)
    return f"Welcome to {name}" if name.endswith((".", "!", "?")) else f"Welcome to {name}."


def _sign_up_and_accept(request, invitation):
    form = SignUpForm(new_user(invitation.email), request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            members.accept(request, invitation, user)
        auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _welcome(invitation.account))
        return redirect("account_overview", account_slug=invitation.account.slug)
    return render(
        request, "dashboard/invitation_signup.html", {"invitation": invitation, "form": form}
    )
