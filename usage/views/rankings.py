from django.conf import settings
from django.shortcuts import render

from core.access import public
from usage import rankings


@public
def model_rankings(request):
    period = request.GET.get("period")
    if period not in rankings.PERIODS:
        period = "week"
    context = {
        "board": rankings.board(period),
        "period": period,
        "min_accounts": settings.USAGE_RANKING_MIN_ACCOUNTS,
    }
    return render(request, "usage/model_rankings.html", context)
