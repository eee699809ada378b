from .access import is_privacy_team
from .models import Membership, Notification


def navigation(request):
    """The account switcher, menu and bell: one query each for the memberships, the team check
    and the unread count."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("account"))
    current = getattr(request, "membership", None) or next(
        (m for m in memberships if m.account.slug == request.session.get("current_account")),
        None,
    )
    return {
        "nav_memberships": memberships,
        "nav_current": current,
        "nav_is_privacy_team": is_privacy_team(user),
        # The bell in the top bar; served by dashboard_notif_unread_idx.
        "nav_unread_count": Notification.objects.filter(user=user, read_at__isnull=True).count(),
    }
