from django.conf import settings
from django.utils.functional import SimpleLazyObject

from core.access import is_privacy_team
from dashboard.models import Membership, Notification


def navigation(request):
    """The account switcher, menu and bell: one query each for the memberships, the team check
    and the unread count, made only when a template shows them. An htmx fragment (an activity
    card, a preview) has no top bar and so costs none of them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = SimpleLazyObject(
        lambda: list(Membership.objects.filter(user=user).select_related("account"))
    )
    return {
        "nav_memberships": memberships,
        "nav_current": SimpleLazyObject(lambda: _current(request, memberships)),
        "nav_is_privacy_team": SimpleLazyObject(lambda: is_privacy_team(user)),
        # The bell in the top bar; served by dashboard_notif_unread_idx.
        "nav_unread_count": SimpleLazyObject(
            lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()
        ),
    }


def _current(request, memberships):
    return getattr(request, "membership", None) or next(
        (m for m in memberships if m.account.slug == request.session.get("current_account")),
        None,
    )


def legal_links(request):
    """AnyAPI's privacy policy and terms, for the footer of every page (signed in or not)."""
    return {
        "legal_privacy_url": settings.PRIVACY_POLICY_URL,
        "legal_terms_url": settings.TERMS_OF_SERVICE_URL,
    }
