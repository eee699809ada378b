"""The provider catalog, a provider's page and the policy playground, driven through Chromium at
desktop (1280 px) and phone (390 px) widths."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from catalog.models import PolicyVersion, Provider
from catalog.review import versions as review
from tests.catalog.conftest import SMALL_CATALOG
from tests.e2e.catalogs import committed_catalog
from tests.e2e.layout import assert_fits_the_screen, boxes_scrolling_sideways

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _rows(page):
    # CSS rows, not ARIA ones: on phones the table is restyled into stacked cards.
    return page.locator("#results tbody tr")


def _row_ids(page) -> list[str]:
    """`model@provider name` of each row, in the order shown."""
    return _rows(page).evaluate_all(
        """rows => rows.map(row => row.querySelector('td[data-label=Model]').innerText.trim()
            + '@' + row.querySelector('td[data-label=Provider]').innerText.trim())"""
    )


def _chip(page, tag):
    return page.locator("form.filters").get_by_label(tag, exact=True)


def _mark_document(page):
    """Tags the current document; the tag survives htmx swaps but not a full page load."""
    page.evaluate("window.__sameDocument = true")


def _is_same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def _query(page) -> dict:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def _propose_shorter_retention(slug="safe-ai"):
    """A pending proposal: the provider's current policy with retention changed to 7 days."""
    provider = Provider.objects.get(slug=slug)
    current = review.current_version(provider)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    content.update(retention="days", retention_days=7)
    return review.propose(provider, None, content, origin="refresh")


# --- The endpoint catalog -----------------------------------------------------------------------


def test_clicking_a_chip_filters_the_table_in_place_and_the_url_keeps_the_filter(
    page, small_catalog, screenshot
):
    page.goto("/catalog/")
    expect(_rows(page)).to_have_count(5)
    _mark_document(page)

    with page.expect_response(lambda r: urlsplit(r.url).path == "/catalog/") as response:
        _chip(page, "zero-retention").check()

    assert response.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(r"[?&]require=zero-retention(&|$)"))
    expect(_rows(page)).to_have_count(1)
    assert _row_ids(page) == ["acme/chat@Safe AI"]
    expect(page.get_by_test_id("result-count")).to_have_text("1 of 5 endpoints")
    assert _is_same_document(page)
    screenshot(page, "catalog-filtered")

    page.reload()

    expect(_chip(page, "zero-retention")).to_be_checked()
    expect(_chip(page, "no-training")).not_to_be_checked()
    assert _row_ids(page) == ["acme/chat@Safe AI"]
    expect(page.get_by_test_id("result-count")).to_have_text("1 of 5 endpoints")


def test_a_second_chip_narrows_further_and_unchecking_both_restores_every_row(page, small_catalog):
    page.goto("/catalog/")

    _chip(page, "no-training").check()
    expect(_rows(page)).to_have_count(3)
    _chip(page, "no-safety-retention").check()
    expect(_rows(page)).to_have_count(1)
    assert _query(page)["require"] == ["no-training", "no-safety-retention"]

    _chip(page, "no-training").uncheck()
    _chip(page, "no-safety-retention").uncheck()
    expect(_rows(page)).to_have_count(5)
    assert "require" not in _query(page)


def test_typing_in_the_search_box_narrows_the_rows(page, small_catalog):
    page.goto("/catalog/")
    _mark_document(page)

    page.get_by_label("Search endpoints").press_sequentially("tiny")

    expect(_rows(page)).to_have_count(2)
    assert _row_ids(page) == ["acme/tiny@Free AI", "acme/tiny@Month AI"]
    expect(page).to_have_url(re.compile(r"[?&]q=tiny(&|$)"))
    assert _is_same_document(page)

    page.get_by_label("Search endpoints").press_sequentially("-nothing")

    expect(page.locator("#results td.empty")).to_have_text("No endpoint satisfies these filters.")


def test_search_and_chips_combine(page, small_catalog):
    page.goto("/catalog/?q=month")
    expect(_rows(page)).to_have_count(2)

    _chip(page, "no-training").check()

    expect(page.get_by_test_id("result-count")).to_have_text("2 of 5 endpoints")
    _chip(page, "zero-retention").check()
    expect(_rows(page).locator("td.empty")).to_have_count(1)
    assert _query(page)["q"] == ["month"]


def test_clicking_a_sortable_header_orders_the_rows_by_that_column(page, width, small_catalog):
    page.goto("/catalog/")
    assert _row_ids(page)[0] == "acme/chat@Free AI"  # model order

    if width == 390:  # phones have no table header: the form's sort control does it
        page.locator("#sort-control select").select_option("retention")
    else:
        page.locator("#results thead").get_by_role("link", name="Retention").click(timeout=3000)

    expect(page.locator("#sort-control select")).to_have_value("retention")
    expect(page).to_have_url(re.compile(r"sort=retention"))
    expect(_rows(page).first).to_contain_text("Safe AI")
    assert _row_ids(page) == [
        "acme/chat@Safe AI",
        "acme/chat@Month AI",
        "acme/tiny@Month AI",
        "acme/chat@Free AI",
        "acme/tiny@Free AI",
    ]
    assert _query(page)["sort"] == ["retention"]


def test_changing_a_filter_after_sorting_keeps_the_sort_order(page_at, small_catalog):
    page = page_at(1280)
    page.goto("/catalog/")
    header = page.locator("#results thead").get_by_role("link", name="Retention")
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")

    _chip(page, "no-training").check()

    expect(_rows(page)).to_have_count(3)
    assert _row_ids(page) == ["acme/chat@Safe AI", "acme/chat@Month AI", "acme/tiny@Month AI"]
    assert _query(page)["sort"] == ["retention"]


# --- A provider's page --------------------------------------------------------------------------


def test_a_provider_opened_from_the_table_shows_its_policy_with_evidence_and_history(
    page, small_catalog, screenshot
):
    _propose_shorter_retention("safe-ai")
    page.goto("/catalog/?require=zero-retention")

    _rows(page).get_by_role("link", name="Safe AI").click()

    expect(page).to_have_url(re.compile(r"/catalog/providers/safe-ai/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Safe AI")
    retention = page.locator(
        ".policy-row", has=page.locator("dt", has_text=re.compile("^Retention$"))
    )
    expect(retention.locator("dd")).to_contain_text("zero")
    expect(retention.locator("blockquote.evidence")).to_contain_text("We keep nothing.")
    expect(retention.get_by_role("link", name="source")).to_have_attribute(
        "href", "https://safe.example/policy"
    )
    history = page.locator("ol.timeline > li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("safe-ai v2")
    expect(history.first.locator(".badge")).to_have_text("proposed")
    expect(history.first.locator("ul.changes li").first).to_have_text("retention: zero → days")
    expect(history.nth(1)).to_contain_text("safe-ai v1")
    expect(history.nth(1).locator(".badge")).to_have_text("approved")
    screenshot(page, "provider-detail")


# --- The playground -----------------------------------------------------------------------------


def _resolve(page):
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="Resolve").click()
    assert response.value.request.headers.get("hx-request") == "true"
    return page.locator("#result")


def test_a_signed_in_user_resolves_a_request_and_then_sees_the_smallest_relaxation(
    page, personas, sign_in, small_catalog, screenshot
):
    sign_in(page, personas.member)
    page.goto("/catalog/")
    page.get_by_role("navigation", name="Catalog views").get_by_role(
        "link", name="Playground"
    ).click()
    expect(page).to_have_url(re.compile(r"/playground/$"))

    page.get_by_label("Model", exact=True).select_option("acme/chat")
    page.locator("form.form").get_by_label("zero-retention", exact=True).check()
    result = _resolve(page)

    expect(result.get_by_role("heading", level=2)).to_contain_text("1 eligible, 2 excluded")
    expect(result.locator("ol.eligible-list li")).to_have_count(1)
    expect(result.locator("ol.eligible-list li code")).to_have_text("acme/chat@safe-ai")
    result.get_by_text("Excluded (2) and why").click()
    excluded = result.locator("details li")
    expect(excluded).to_have_count(2)
    for endpoint in ("acme/chat@free-ai", "acme/chat@month-ai"):
        item = excluded.filter(has_text=endpoint)
        expect(item.locator(".badge")).to_have_text("not_zero_retention")
    screenshot(page, "playground-result")

    page.get_by_label("Model", exact=True).select_option("acme/tiny")
    result = _resolve(page)

    expect(result.locator(".notice-box")).to_contain_text("Nothing is eligible.")
    expect(result.locator(".notice-box")).to_contain_text("require:zero-retention")
    expect(result.get_by_test_id("relaxation").first).to_contain_text("zero-retention")
    expect(result.locator("details")).to_have_attribute("open", "")
    screenshot(page, "playground-nothing-eligible")


def test_pasted_json_with_an_unknown_tag_shows_the_field_path(
    page, personas, sign_in, small_catalog
):
    sign_in(page, personas.member)
    page.goto("/playground/")

    page.get_by_text("…or paste a request as JSON").click()
    page.get_by_label("Request JSON").fill(
        '{"model": "acme/chat", "providers": {"require": ["zero-retension"]}}'
    )
    result = _resolve(page)

    expect(result.get_by_role("alert")).to_contain_text("providers.require.0: unknown tag")


def test_the_playground_sends_anonymous_visitors_to_sign_in(page, small_catalog):
    page.goto("/playground/")

    expect(page).to_have_url(re.compile(r"/login/\?next=/playground/$"))


# --- Phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/",
        "/catalog/?require=zero-retention",
        "/catalog/providers/",
        "/catalog/providers/safe-ai/",
        "/catalog/providers/month-ai/",
    ],
)
def test_catalog_pages_fit_a_phone_screen_without_sideways_scrolling(page_at, small_catalog, path):
    _propose_shorter_retention("safe-ai")
    page = page_at(390)

    page.goto(path)

    assert_fits_the_screen(page, 390)


@pytest.mark.parametrize("model", ["acme/chat", "acme/tiny"], ids=["eligible", "nothing-eligible"])
def test_the_playground_result_fits_a_phone_screen_without_sideways_scrolling(
    page_at, personas, sign_in, small_catalog, model
):
    page = sign_in(page_at(390), personas.member)
    page.goto("/playground/")
    assert_fits_the_screen(page, 390)

    page.get_by_label("Model", exact=True).select_option(model)
    page.locator("form.form").get_by_label("zero-retention", exact=True).check()
    result = _resolve(page)
    expect(result.get_by_role("heading", level=2)).to_be_visible()
    result.locator("details").evaluate("details => { details.open = true; }")

    assert_fits_the_screen(page, 390)


WORDY_PROVIDER = {
    "slug": "cloud-platform-ai",
    "name": "Cloud Platform AI",
    "headquarters": "US",
    "domains": ["cloudplatform.example"],
    "policy": {
        "training": "no",
        "retention": "days",
        "retention_days": 30,
        "safety_retention": "flagged_only",
        "certifications": ["gdpr-dpa", "hipaa", "iso27001", "soc2"],
        "regions": ["us", "eu"],
        "source_url": "https://cloudplatform.example/legal/privacy/enterprise/api/datausage",
        "verified_at": "2026-10-01",
        "review_due": "2099-01-01",
        "evidence": {
            "training": "We do not use API inputs or outputs to train our models.",
            "retention": "API inputs and outputs are deleted after 30 days.",
            "safety_retention": "Content flagged for abuse may be kept for review.",
            "certifications": "We hold SOC 2, ISO 27001, HIPAA and GDPR DPA attestations.",
            "regions": "Inference runs in the US and the EU.",
            "headquarters": "Cloud Platform AI, Inc., Seattle, Washington.",
        },
    },
}
LONG_MODEL = "cloud/platform-large-instruct-2025-06"


@pytest.fixture
def catalog_with_a_wordy_provider(transactional_db):
    """The small catalog plus a provider like the shipped catalog's big ones: four
    certifications, a long source URL and a long model slug."""
    catalog = {
        "providers": [*SMALL_CATALOG["providers"], WORDY_PROVIDER],
        "models": [*SMALL_CATALOG["models"], {"slug": LONG_MODEL, "name": "Platform Large"}],
        "endpoints": [
            *SMALL_CATALOG["endpoints"],
            {"model": LONG_MODEL, "provider": "cloud-platform-ai"},
            {"model": "acme/chat", "provider": "cloud-platform-ai"},
        ],
    }
    yield from committed_catalog(catalog)


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/",
        "/catalog/?require=zero-retention",
        "/catalog/providers/",
        "/catalog/providers/safe-ai/",
        "/catalog/providers/cloud-platform-ai/",
    ],
)
def test_no_catalog_table_hides_its_values_in_a_sideways_scrolling_box_on_a_phone(
    page_at, catalog_with_a_wordy_provider, path
):
    page = page_at(390)

    page.goto(path)

    assert boxes_scrolling_sideways(page) == []


def test_a_long_policy_source_url_wraps_on_a_phone(page_at, catalog_with_a_wordy_provider):
    page = page_at(390)

    page.goto("/catalog/providers/cloud-platform-ai/")

    expect(page.get_by_role("link", name=WORDY_PROVIDER["policy"]["source_url"])).to_be_visible()
    assert_fits_the_screen(page, 390)
