"""The activity page driven through Chromium at desktop (1280 px) and phone (390 px) widths: every
card loads on its own, every chart is drawn, the policy badges show, and the range and grouping
controls swap the cards in place and keep the address in step."""

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.catalog_file import parse_catalog
from catalog.loader import Loader
from catalog.policy import snapshot
from dashboard.models import ApiKey
from tests.catalog.conftest import SMALL_CATALOG
from tests.e2e.layout import assert_fits_the_screen
from usage import ingest
from usage.events import Event
from usage.models import Status

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CHARTS = ["requests", "tokens", "cost", "latency", "errors"]
ROUTES = ["acme/chat@safe-ai", "acme/chat@month-ai", "acme/tiny@free-ai", "acme/chat@ghost-ai"]
STATUSES = [Status.OK] * 7 + [Status.ERROR, Status.TIMEOUT, Status.REJECTED]


def _events(key_prefix, now):
    """Two weeks of traffic every few hours across four routes, one of them unknown."""
    for n in range(0, 24 * 14, 3):
        model, provider = ROUTES[n % len(ROUTES)].split("@")
        yield Event(
            timestamp=now - timedelta(hours=n, minutes=n % 50),
            event_id=uuid.uuid4(),
            account="acme",
            api_key=key_prefix if n % 2 else None,
            model=model,
            provider=provider,
            tokens_prompt=200 + n,
            tokens_completion=40 + n % 30,
            latency_ms=150 + (n * 37) % 1800,
            status=STATUSES[n % len(STATUSES)],
            cost_nanos=300_000 + n * 1000,
        )


@pytest.fixture
def usage(transactional_db, personas):
    """The small catalog and two weeks of acme's usage, committed so the live server sees them."""
    snapshot.forget()
    Loader().load(parse_catalog(SMALL_CATALOG))
    snapshot.forget()
    key, _ = ApiKey.issue(name="Backend", account=personas.account)
    ingest.ingest(list(_events(key.prefix, timezone.now())))
    yield key
    snapshot.forget()


def _all_cards_loaded(page):
    expect(page.locator(".activity-card")).to_have_count(9)
    expect(page.locator(".activity-card[aria-busy]")).to_have_count(0)


def _is_drawn(canvas) -> bool:
    """Whether any pixel of the chart's canvas is painted."""
    return canvas.evaluate(
        """canvas => {
            const { width, height } = canvas;
            const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
            for (let alpha = 3; alpha < pixels.length; alpha += 4) if (pixels[alpha]) return true;
            return false;
        }"""
    )


# Axes alone paint pixels too: some bar or point of the data must be drawn as well.
_PLOTS_DATA = """canvas => {
    const chart = Chart.getChart(canvas);
    return chart.data.datasets.some((_, n) => chart.getDatasetMeta(n).data.some(
        (element, i) => chart.data.datasets[n].data[i] && !element.skip));
}"""


def _charts_drawn(page):
    for slug in CHARTS:
        canvas = page.locator(f"#card-{slug} canvas")
        expect(canvas).to_be_visible()
        assert canvas.evaluate("c => c.width > 0 && c.height > 0"), slug
        assert _is_drawn(canvas), f"the {slug} chart is blank"
        assert canvas.evaluate(_PLOTS_DATA), f"the {slug} chart plots nothing"


def _mark_document(page):
    """Tags the current document; the tag survives htmx swaps but not a full page load."""
    page.evaluate("window.__sameDocument = true")


def _query(page) -> dict:
    return {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}


def test_signing_in_shows_every_card_with_its_chart_drawn_and_the_policy_badges(
    page, width, personas, sign_in, usage, screenshot
):
    sign_in(page, personas.owner)

    assert urlsplit(page.url).path == "/a/acme/activity/"
    _all_cards_loaded(page)
    _charts_drawn(page)
    policies = page.get_by_test_id("card-policies")
    expect(policies.get_by_test_id("endpoint-row")).to_have_count(4)
    for label in ("zero retention", "no training", "trains on data", "soc2", "not in catalog"):
        expect(policies.locator(".badge", has_text=label).first).to_be_visible()
    expect(policies.get_by_role("link", name="safe-ai")).to_have_attribute(
        "href", "/catalog/providers/safe-ai/"
    )
    posture = page.get_by_test_id("card-posture")
    expect(posture.get_by_test_id("share-zero-retention")).to_contain_text("25% of requests")
    expect(posture.get_by_test_id("share-unknown-policy")).to_contain_text("25% of requests")
    expect(page.get_by_test_id("card-summary").get_by_test_id("tile-requests")).to_contain_text(
        "56"
    )
    assert_fits_the_screen(page, width)
    screenshot(page, "activity")


def test_switching_to_ninety_days_redraws_daily_charts_in_place_and_keeps_the_address(
    page, width, personas, sign_in, usage, screenshot
):
    sign_in(page, personas.owner)
    _all_cards_loaded(page)
    _mark_document(page)

    page.locator(".activity-ranges").get_by_text("Last 90 days").click()

    expect(page.get_by_test_id("period-label")).to_contain_text("Last 90 days")
    _all_cards_loaded(page)
    assert page.evaluate("window.__sameDocument === true")
    assert _query(page) == {"range": "90d", "group": "model"}
    _charts_drawn(page)
    labels = page.locator("#card-requests canvas").evaluate(
        "canvas => Chart.getChart(canvas).data.labels.length"
    )
    assert labels == 90

    page.get_by_test_id("card-breakdown").get_by_role("link", name="API key").click()

    expect(page.get_by_test_id("card-breakdown")).to_contain_text("Backend (")
    expect(page.get_by_test_id("card-breakdown")).to_contain_text("No key")
    assert _query(page) == {"range": "90d", "group": "key"}
    _all_cards_loaded(page)
    _charts_drawn(page)

    page.go_back()

    expect(page.get_by_test_id("card-breakdown")).to_contain_text("acme/chat")
    assert _query(page) == {"range": "90d", "group": "model"}
    _charts_drawn(page)

    page.go_forward()
    page.reload()

    _all_cards_loaded(page)
    expect(page.locator(".activity-ranges").get_by_label("Last 90 days")).to_be_checked()
    expect(page.get_by_label("Break down by", exact=True)).to_have_value("key")
    _charts_drawn(page)
    assert_fits_the_screen(page, width)
    # Last: a screenshot marks the inputs, and a page snapshot for going back would keep it.
    screenshot(page, "activity-90-days")


def test_picking_dates_switches_to_a_custom_range(page, personas, sign_in, usage):
    sign_in(page, personas.owner)
    _all_cards_loaded(page)
    today = timezone.now().date()

    page.get_by_label("From").fill((today - timedelta(days=2)).isoformat())

    start = today - timedelta(days=2)
    label = f"{start:%b} {start.day}, {start.year} – {today:%b} {today.day}, {today.year}"
    expect(page.get_by_test_id("period-label")).to_contain_text(label)
    assert _query(page) == {
        "range": "custom",
        "group": "model",
        "start": start.isoformat(),
        "end": today.isoformat(),
    }
    expect(page.locator("#range-custom")).to_be_checked()
    _all_cards_loaded(page)
    _charts_drawn(page)


def test_an_account_without_usage_explains_how_usage_arrives(
    page, width, personas, sign_in, screenshot
):
    sign_in(page, personas.outsider)

    empty = page.get_by_test_id("activity-empty")
    expect(empty).to_contain_text("No usage yet")
    expect(empty).to_contain_text("the gateway reports its metadata")
    expect(page.locator(".activity-card")).to_have_count(0)
    assert_fits_the_screen(page, width)
    screenshot(page, "activity-empty")
