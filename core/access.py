"""Access decisions for every view: deny by default.

Each decorator marks the view with `access` so a test can walk the URLconf and fail on any
view that made no decision.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from dashboard.models import Account, Membership, Role

READING = ("GET", "HEAD")


def _mark(view, decision):
    view.access = decision
    return view


def public(view):
    """Anyone may call it, signed in or not."""
    return _mark(view, "public")


def signed_in(view):
    return _mark(login_required(view), "signed-in")


def is_privacy_team(user) -> bool:
    return user.is_authenticated and user.groups.filter(name=settings.PRIVACY_TEAM_GROUP).exists()


def privacy_team(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not is_privacy_team(request.user):
            raise PermissionDenied("privacy team only")
        return view(request, *args, **kwargs)

    return _mark(login_required(guarded), "privacy-team")


def staff_only(view):
    """AnyAPI staff (`is_staff`) only; everyone else gets 403."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("staff only")
        return view(request, *args, **kwargs)

    return _mark(login_required(guarded), "staff-admin")


def get_membership_for_user(user, account_slug) -> Membership:
    """The user's membership of the account, or 404: another account looks like no account."""
    membership = (
        Membership.objects.select_related("account")
        .filter(user=user, account__slug=account_slug)
        .first()
    )
    if membership is None:
        raise Http404("No such account")
    return membership


def forbidden(request, message: str):
    """The 403 page saying why."""
    return render(request, "403.html", {"message": message}, status=403)


def account_member(view=None, *, manage=False, managers_write: str | None = None):
    """The view takes `account_slug`; it receives `request.membership` and `request.account`.

    With manage=True only owners and admins pass; members get 403. With `managers_write`,
    members read (GET, HEAD) and get 403 saying `managers_write` for anything else.
    """

    def decorate(view):
        @wraps(view)
        def guarded(request, account_slug, *args, **kwargs):
            membership = get_membership_for_user(request.user, account_slug)
            if manage and not membership.can_manage:
                raise PermissionDenied("owners and admins only")
            if managers_write and request.method not in READING and not membership.can_manage:
                return forbidden(request, managers_write)
            request.membership, request.account = membership, membership.account
            if request.session.get("current_account") != account_slug:
                request.session["current_account"] = account_slug
            return view(request, *args, **kwargs)

        return _mark(login_required(guarded), "account-manager" if manage else "account-member")

    return decorate(view) if view else decorate


def account_owner(view):
    """Like `account_member(manage=True)`, and then owners only: admins get 403 too."""

    @wraps(view)
    def owners_only(request, *args, **kwargs):
        if request.membership.role != Role.OWNER:
            raise PermissionDenied("owners only")
        return view(request, *args, **kwargs)

    return account_member(owners_only, manage=True)


def accounts_of(user):
    return Account.objects.for_user(user)
