from .access import is_privacy_team
from .models import Membership


def navigation(request):
    """The account switcher and menu; one query for the memberships, one for the team check."""
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
    }
