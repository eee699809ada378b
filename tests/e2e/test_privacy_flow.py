"""The privacy settings, a key's guardrail and the models page, driven through Chromium at
desktop (1280 px) and phone (390 px) widths: the live preview updates in place, nothing is saved
until Save, and the saved change is in the audit log."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from dashboard import privacy
from dashboard.apikeys import create_key
from dashboard.models import ApiKey, AuditEvent, KeyGuardrail, PrivacyDefaults
from tests.e2e.layout import assert_fits_the_screen

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _summary(page):
    return page.get_by_test_id("preview-summary")


def _preset(page, name):
    name = page.locator(".preset-name").get_by_text(name, exact=True)
    return page.locator("label.preset-card").filter(has=name)


def _mark_document(page):
    """Tags the current document; the tag survives htmx swaps but not a full page load."""
    page.evaluate("window.__sameDocument = true")


def _is_same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def _screenshot_the_whole_form(screenshot, page, name):
    # A full-page capture draws sticky parts where the current viewport puts them: the phone's
    # Save bar sits under the form when scrolled to the end, the desktop preview at the top.
    end = "document.body.scrollHeight" if page.viewport_size["width"] < 900 else "0"
    page.evaluate(f"window.scrollTo(0, {end})")
    screenshot(page, name)


def _is_preview(response) -> bool:
    return urlsplit(response.url).path == "/a/acme/privacy/preview"


def test_owner_switches_to_confidential_watches_the_preview_then_saves_and_finds_it_audited(
    page, personas, sign_in, small_catalog, screenshot
):
    sign_in(page, personas.owner)
    page.goto("/a/acme/privacy/")
    expect(_preset(page, "Internal").locator("input")).to_be_checked()
    expect(_summary(page)).to_have_text("2 of 5 endpoints eligible, 1 model unavailable")
    _screenshot_the_whole_form(screenshot, page, "privacy-settings-before")
    _mark_document(page)

    with page.expect_response(_is_preview) as response:
        _preset(page, "Confidential").click()

    assert response.value.request.headers.get("hx-request") == "true"
    expect(_summary(page)).to_have_text("1 of 5 endpoints eligible, 1 model unavailable")
    expect(page.get_by_test_id("preview")).to_contain_text("With the saved settings: 2 eligible")
    assert _is_same_document(page)
    assert PrivacyDefaults.objects.get(account=personas.account).classification == "internal"
    _screenshot_the_whole_form(screenshot, page, "privacy-settings-after")

    page.get_by_role("button", name="Save privacy settings").click()

    expect(page.locator(".message")).to_contain_text("Privacy settings saved")
    expect(_preset(page, "Confidential").locator("input")).to_be_checked()
    page.goto("/a/acme/audit/")
    row = page.locator("tbody tr", has_text="privacy.defaults_changed")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Who]")).to_have_text(personas.owner.email)
    expect(row.locator("td[data-label=Change]")).to_contain_text("confidential")


def test_typing_an_invalid_retention_shows_the_error_beside_the_field_without_a_reload(
    page, personas, sign_in, small_catalog
):
    sign_in(page, personas.owner)
    page.goto("/a/acme/privacy/")
    _mark_document(page)
    days = page.get_by_label("Most days a provider may keep the data")

    days.press_sequentially("-1")

    expect(page.locator("#errors-retention_days")).to_contain_text("Enter a whole number of days")
    expect(page.get_by_test_id("preview").get_by_role("alert")).to_contain_text("Fix 1 setting")
    days.fill("")
    days.press_sequentially("0")
    expect(page.locator("#errors-retention_days")).to_be_empty()
    expect(_summary(page)).to_have_text("1 of 5 endpoints eligible, 1 model unavailable")
    assert _is_same_document(page)
    assert not AuditEvent.objects.filter(action="privacy.defaults_changed").exists()


def test_a_looser_guardrail_is_refused_beside_the_field(page, personas, sign_in, small_catalog):
    key, _ = create_key(name="Gateway", kind=ApiKey.Kind.INFERENCE, account=personas.account)
    privacy.save_defaults(personas.account, {"retention_days": 30})
    sign_in(page, personas.owner)
    page.goto("/a/acme/keys/")

    page.locator("tbody tr", has_text="Gateway").get_by_role("link", name="Guardrail").click()
    page.get_by_label("Most days a provider may keep the data").fill("90")
    page.get_by_role("button", name="Save guardrail").click()

    expect(page.locator("#errors-retention_days")).to_contain_text(
        "loosen the account's retention limit (the account allows at most 30 days)"
    )
    assert not KeyGuardrail.objects.filter(key=key).exists()


def test_models_page_shows_each_reachable_model_with_its_endpoints_badges(
    page, personas, sign_in, small_catalog, screenshot
):
    sign_in(page, personas.member)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()

    expect(page).to_have_url(re.compile(r"/a/acme/models/$"))
    expect(page.get_by_test_id("models-summary")).to_have_text("1 model available, 1 unavailable.")
    card = page.locator(".model-card", has_text="acme/chat")
    expect(card.locator(".endpoint-list li")).to_have_count(2)
    expect(card.locator(".badge.good").first).to_be_visible()
    expect(page.locator(".unavailable-list")).to_contain_text("acme/tiny")
    screenshot(page, "available-models")


@pytest.mark.parametrize("path", ["/a/acme/privacy/", "/a/acme/models/", "guardrail"])
def test_privacy_pages_fit_a_phone_screen_without_sideways_scrolling(
    page_at, personas, sign_in, small_catalog, path
):
    key, _ = create_key(name="Gateway", kind=ApiKey.Kind.INFERENCE, account=personas.account)
    page = sign_in(page_at(390), personas.owner)

    page.goto(f"/a/acme/keys/{key.prefix}/guardrail/" if path == "guardrail" else path)

    assert_fits_the_screen(page, 390)
