"""The activity page, its cards and its CSV export, and the staff overview: figures, ranges,
grouping, tenant isolation and a fixed number of queries per card."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from catalog.policy import snapshot
from dashboard.models import ApiKey
from tests.usage import test_activity_queries as queries
from tests.usage.test_activity_queries import NOW, THIS_HOUR, TODAY, event, record
from usage import histogram
from usage.models import Status
from usage.views.activity import CARDS

pytestmark = pytest.mark.django_db

# The query tests' fixtures: frozen time and the small catalog.
now, catalog = queries.now, queries.catalog

PAGE = "/a/acme/activity/"


def card_url(slug, query=""):
    return f"/a/acme/activity/cards/{slug}/{query}"


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def chart(response, slug) -> dict:
    found = re.search(
        rf'<script id="chart-data-{slug}" type="application/json">(.*?)</script>',
        html(response),
        re.S,
    )
    return json.loads(found.group(1))


def text(response) -> str:
    """The card's visible text with tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html(response)).split())


@pytest.fixture
def traffic(personas, catalog, now):
    key, _ = ApiKey.issue(name="Backend", account=personas.account)
    record(
        event(NOW - timedelta(hours=1), "acme/chat", "safe-ai", api_key=key.prefix, latency_ms=200),
        event(NOW - timedelta(hours=2), "acme/chat", "safe-ai", api_key=key.prefix, latency_ms=200),
        event(
            NOW - timedelta(hours=3), "acme/chat", "free-ai", status=Status.ERROR, cost_nanos=None
        ),
        event(
            NOW - timedelta(days=1),
            "acme/tiny",
            "ghost-ai",
            tokens_prompt=1000,
            tokens_completion=0,
        ),
        event(NOW - timedelta(days=9), "acme/chat", "safe-ai"),  # the previous week
        event(NOW - timedelta(days=20), "acme/chat", "month-ai", cost_nanos=2_000_000_000),
    )
    return key


def _reported(latency_ms) -> int:
    """What a latency is shown as: its histogram bucket's midpoint, within 2 %."""
    return round(histogram.representative(histogram.bucket_of(latency_ms)))


@pytest.fixture
def owner(client_for, personas):
    return client_for(personas.owner)


# --- The page -----------------------------------------------------------------------------------


def test_signing_in_lands_on_the_activity_page(owner):
    assert owner.get("/").headers["Location"] == PAGE


def test_the_account_overview_links_to_the_activity_page(owner):
    assert f'href="{PAGE}"' in html(owner.get("/a/acme/"))


def test_the_page_loads_every_card_with_the_periods_query_string(owner, traffic):
    page = html(owner.get(PAGE, {"range": "30d", "group": "provider", "junk": "x"}))

    for slug in CARDS:
        assert f'hx-get="{card_url(slug)}?range=30d&amp;group=provider"' in page
    assert page.count('hx-trigger="load"') == len(CARDS)
    assert 'href="/a/acme/activity.csv?range=30d&amp;group=provider"' in page
    assert "Last 30 days" in page and "daily" in page


def test_an_account_without_usage_is_told_how_usage_arrives(owner, now):
    page = html(owner.get(PAGE))

    assert 'data-testid="activity-empty"' in page
    assert "the gateway reports its metadata" in page
    assert 'hx-trigger="load"' not in page


def test_a_bad_range_in_the_address_shows_the_default_with_a_notice(owner, traffic):
    page = html(owner.get(PAGE, {"range": "custom", "start": "2026-11-20", "end": "2026-11-01"}))

    assert "The custom range starts after it ends. Showing the last 7 days instead." in page
    assert f'hx-get="{card_url("summary")}?range=7d&amp;group=model"' in page


def test_changing_the_controls_with_htmx_swaps_the_cards_and_pushes_the_clean_address(
    owner, traffic
):
    response = owner.get(
        PAGE,
        {"range": "24h", "group": "key", "start": "2026-11-01"},
        headers={"HX-Request": "true"},
    )

    page = html(response)
    assert page.lstrip().startswith('<div id="activity"')
    assert "<html" not in page
    assert response.headers["HX-Push-Url"] == "?range=24h&group=key"


def test_an_unknown_card_is_not_found(owner, traffic):
    assert owner.get(card_url("passwords")).status_code == 404


# --- Cards --------------------------------------------------------------------------------------


def test_the_summary_card_compares_with_the_previous_period(owner, traffic):
    summary = text(owner.get(card_url("summary", "?range=7d")))

    assert "Requests 4 +300.0%" in summary  # 4 this week, 1 the week before
    assert "Tokens 1,360 +1033.3%" in summary
    assert "Cost $0.0030 +200.0%" in summary
    assert "Error rate 25% +25.0 pts" in summary
    assert f"p95 latency {_reported(400)} ms" in summary


def test_the_summary_of_an_empty_period_says_so(owner, traffic):
    summary = text(owner.get(card_url("summary", "?range=custom&start=2026-06-01&end=2026-06-02")))
    assert "No requests in this period." in summary and "no earlier data" in summary


def test_a_week_is_charted_by_hour_and_a_quarter_by_day(owner, traffic):
    week = chart(owner.get(card_url("requests", "?range=7d")), "requests")
    quarter = chart(owner.get(card_url("requests", "?range=90d")), "requests")

    assert len(week["labels"]) == 168 and week["labels"][-1] == f"Nov 30 {THIS_HOUR:%H}:00"
    assert len(quarter["labels"]) == 90 and quarter["labels"][-1] == "Nov 30"
    succeeded, failed = quarter["datasets"]
    assert (sum(succeeded["data"]), sum(failed["data"])) == (5, 1)
    assert sum(week["datasets"][0]["data"]) == 3 and week["stacked"]


def test_the_tokens_and_cost_cards_chart_their_measures(owner, traffic):
    tokens = chart(owner.get(card_url("tokens", "?range=30d")), "tokens")
    cost = owner.get(card_url("cost", "?range=30d"))

    prompt, completion = tokens["datasets"]
    assert (sum(prompt["data"]), sum(completion["data"])) == (1500, 100)
    assert sum(chart(cost, "cost")["datasets"][0]["data"]) == pytest.approx(2.004)
    assert "$2.00 in total" in text(cost)


def test_the_error_rate_card_charts_each_kind_of_failure_as_a_share(owner, traffic):
    response = owner.get(card_url("errors", "?range=24h"))

    errors, timeouts, rejected = chart(response, "errors")["datasets"]
    assert [rate for rate in errors["data"] if rate] == [1.0]
    assert "33% of requests failed" in text(response)  # the day-old event is 24 h 20 min old
    assert chart(response, "errors")["unit"] == "percent"


def test_the_latency_card_charts_p50_p95_and_p99(owner, traffic):
    response = owner.get(card_url("latency", "?range=24h"))

    data = chart(response, "latency")
    assert [d["label"] for d in data["datasets"]] == ["p50", "p95", "p99"]
    assert data["type"] == "line"
    assert f"p50 {_reported(200)} ms · p95 {_reported(400)} ms" in text(response)


def test_a_chart_card_without_traffic_says_so_instead_of_drawing(owner, traffic):
    response = owner.get(card_url("latency", "?range=custom&start=2026-06-01&end=2026-06-02"))
    assert "No requests in this period." in text(response)
    assert "<canvas" not in html(response)


def test_the_breakdown_card_follows_the_grouping(owner, traffic):
    by_key = text(owner.get(card_url("breakdown", "?range=7d&group=key")))
    by_provider = text(owner.get(card_url("breakdown", "?range=7d&group=provider")))

    assert f"Backend ({traffic.prefix}…) 2 50%" in by_key
    assert "No key 2 50%" in by_key
    assert "safe-ai 2 50%" in by_provider and "ghost-ai 1 25%" in by_provider


def test_the_policy_card_shows_each_endpoints_current_badges_and_links_its_provider(owner, traffic):
    response = owner.get(card_url("policies", "?range=7d"))

    page = html(response)
    assert page.count('data-testid="endpoint-row"') == 3
    assert (
        'href="/catalog/providers/safe-ai/"' in page
        and 'href="/catalog/providers/free-ai/"' in page
    )
    assert 'href="/catalog/providers/ghost-ai/"' not in page
    for label in (
        "zero retention",
        "no training",
        "trains on data",
        "kept indefinitely",
        "soc2",
        "not in catalog",
    ):
        assert f">{label}</span>" in page


def test_the_posture_card_shares_traffic_and_lists_policies_changed_since(
    owner, traffic, time_machine
):
    time_machine.move_to(NOW - timedelta(minutes=10), tick=False)
    queries._approve_new_default("safe-ai", retention="days", retention_days=7)
    time_machine.move_to(NOW, tick=False)
    snapshot.forget()

    posture = text(owner.get(card_url("posture", "?range=7d")))

    assert "Zero retention 0% of requests · 0% of tokens" in posture
    assert "No training 50% of requests" in posture
    assert "Unknown policy 25% of requests · 74% of tokens" in posture
    assert "acme/chat@safe-ai 2 requests · changed Nov 30, 2026 14:10 UTC" in posture
    assert "retention: zero → days" in posture and "retention days: not set → 7" in posture


def test_the_posture_card_says_when_traffic_was_served_before_a_settings_change(
    owner, traffic, personas, time_machine
):
    from dashboard import privacy

    time_machine.move_to(NOW - timedelta(minutes=30), tick=False)
    privacy.save_defaults(personas.account, {"classification": "confidential"})
    time_machine.move_to(NOW, tick=False)

    page = owner.get(card_url("posture", "?range=7d"))
    posture = text(page)

    assert "Your routing settings changed during this period" in posture
    assert f"{NOW - timedelta(minutes=30):%b %-d, %Y %H:%M} UTC — privacy settings" in posture
    excluded = [
        " ".join(li.split())
        for li in re.findall(r'data-testid="now-excluded">(.*?)</li>', html(page), re.S)
    ]
    assert len(excluded) == 2  # free-ai and ghost-ai; safe-ai is still allowed
    assert "acme/chat@safe-ai" not in posture.split("excluded by the account")[1]


def test_the_posture_card_says_nothing_about_settings_when_nothing_changed(
    owner, personas, catalog, now, time_machine
):
    from dashboard import privacy

    time_machine.move_to(NOW - timedelta(days=2), tick=False)
    privacy.save_defaults(personas.account, {"classification": "public"})
    time_machine.move_to(NOW, tick=False)
    record(event(NOW - timedelta(hours=1), "acme/chat", "safe-ai"))

    assert 'data-testid="settings-changed"' not in html(
        owner.get(card_url("posture", "?range=24h"))
    )


# --- Export -------------------------------------------------------------------------------------


def test_the_csv_export_holds_the_current_view(owner, traffic):
    response = owner.get("/a/acme/activity.csv", {"range": "30d", "group": "model"})

    assert response["Content-Type"] == "text/csv"
    assert 'filename="activity-acme-20261101-20261130.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        *("period_start", "model", "requests", "errors", "timeouts", "rejections"),
        *("tokens_prompt", "tokens_completion", "cost_usd", "latency_ms_avg"),
    ]
    assert rows[1] == [
        (TODAY - timedelta(days=20)).isoformat(),
        "acme/chat",
        "1",
        "0",
        "0",
        "0",
        "100",
        "20",
        "2.000000000",
        "400.0",
    ]
    assert [row[:3] for row in rows[2:]] == [
        [(TODAY - timedelta(days=9)).isoformat(), "acme/chat", "1"],
        [(TODAY - timedelta(days=1)).isoformat(), "acme/tiny", "1"],
        [TODAY.isoformat(), "acme/chat", "3"],
    ]


# --- Who may see what ---------------------------------------------------------------------------


def _account_urls():
    return [PAGE, "/a/acme/activity.csv", *(card_url(slug) for slug in CARDS)]


@pytest.mark.parametrize("url", _account_urls())
def test_an_outsider_gets_not_found_on_every_activity_url(client_for, personas, traffic, url):
    assert client_for(personas.outsider).get(url).status_code == 404


@pytest.mark.parametrize("url", _account_urls())
def test_a_member_sees_every_activity_url(client_for, personas, traffic, url):
    assert client_for(personas.member).get(url).status_code == 200


def test_a_signed_out_visitor_is_sent_to_sign_in(client, traffic):
    for url in [*_account_urls(), "/staff/activity/"]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_staff_overview_is_forbidden_to_everyone_but_staff(client_for, personas, traffic):
    for user in (personas.owner, personas.reviewer, personas.outsider):
        assert client_for(user).get("/staff/activity/").status_code == 403


def test_staff_see_every_accounts_totals(client_for, personas, traffic):
    record(event(NOW - timedelta(hours=1), account="globex"))
    staff = get_user_model().objects.create_user(
        "ops@anyapi.test", "ops@anyapi.test", "x", is_staff=True
    )

    page = text(client_for(staff).get("/staff/activity/", {"range": "7d"}))

    assert "Acme acme 4 1" in page and "Globex globex 1 0" in page
    assert "All 2 accounts 5 1" in page


# --- Queries ------------------------------------------------------------------------------------

# Each request: session, user, membership; a whole page adds the navigation's memberships, team
# and bell, which a card (an htmx fragment, with no top bar) does without.
REQUEST_QUERIES = 3
NAVIGATION_QUERIES = 3
CARD_QUERIES = {
    "summary": 2,
    "requests": 1,
    "tokens": 1,
    "cost": 1,
    "latency": 1,
    "errors": 1,
    "breakdown": 1,
    "posture": 5,  # traffic, changed policies, settings changes, defaults, exceptions
    "policies": 1,
}


def _lots_of_traffic(account, n):
    keys = [ApiKey.issue(name=f"key {i}", account=account)[0] for i in range(n)]
    endpoints = ["acme/chat@safe-ai", "acme/chat@month-ai", "acme/tiny@free-ai"]
    routes = [*endpoints, *(f"acme/model-{i}@ghost-ai" for i in range(n))]
    record(
        *(
            event(
                NOW - timedelta(hours=i, days=i % 20), *routes[i].split("@"), api_key=keys[i].prefix
            )
            for i in range(n)
        )
    )


@pytest.mark.parametrize("rows", [3, 30])
def test_each_card_sends_a_fixed_number_of_queries(
    owner, personas, catalog, now, rows, django_assert_num_queries
):
    _lots_of_traffic(personas.account, rows)
    owner.get(PAGE)  # the session remembers the current account once
    for query in ("?range=24h&group=key", "?range=90d&group=model"):
        for slug, count in CARD_QUERIES.items():
            with django_assert_num_queries(REQUEST_QUERIES + count):
                owner.get(card_url(slug, query))


@pytest.mark.parametrize("rows", [3, 30])
def test_the_page_the_export_and_the_staff_overview_send_fixed_numbers_of_queries(
    client_for,
    owner,
    personas,
    catalog,
    now,
    rows,
    django_assert_num_queries,
):
    _lots_of_traffic(personas.account, rows)
    owner.get(PAGE)
    with django_assert_num_queries(REQUEST_QUERIES + NAVIGATION_QUERIES + 1):
        owner.get(PAGE, {"range": "30d"})
    with django_assert_num_queries(REQUEST_QUERIES + 1):
        b"".join(owner.get("/a/acme/activity.csv", {"range": "30d"}).streaming_content)
    staff = get_user_model().objects.create_user(
        "ops@anyapi.test", "ops@anyapi.test", "x", is_staff=True
    )
    staff_client = client_for(staff)
    with django_assert_num_queries(REQUEST_QUERIES + NAVIGATION_QUERIES - 1 + 1):
        staff_client.get("/staff/activity/")


def test_a_custom_range_is_named_once_in_the_heading(owner, catalog, now):
    page = html(owner.get(PAGE, {"range": "custom", "start": "2026-11-01", "end": "2026-11-20"}))
    heading = " ".join(
        re.search(r'data-testid="period-label">(.*?)</h2>', page, re.S).group(1).split()
    )
    assert re.sub(r"<[^>]+>", "", heading).count("Nov 1") == 1
    rolling = html(owner.get(PAGE, {"range": "7d"}))
    assert "Last 7 days" in rolling and "· Nov" in rolling
