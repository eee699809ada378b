"""What a new user meets in the first hour (issue 14), driven through Chromium at 1280 and 390 px:
preset cards that count what they leave and a save that asks before breaking things, revoking a
key with a confirmation, the catalog filtered by region, the changelog, the request log, the
playground resolving as an account, the audit log in words, Activity saying when the settings
changed, and the privacy reviewer's landing page. Each page: no console errors (the fixture),
no sideways scrolling, a screenshot under test-artifacts/screenshots/."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import PolicyVersion
from catalog.review.versions import approve, propose
from dashboard import privacy
from dashboard.models import ApiKey
from tests.e2e import test_privacy_flow
from tests.e2e.layout import assert_fits_the_screen
from usage.events import Event
from usage.ingest import ingest
from usage.models import Status

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _traffic(account, key=None, *, hours_ago=1, provider="safe-ai", n=3):
    now = timezone.now()
    ingest(
        [
            Event(
                now - timedelta(hours=hours_ago, minutes=i),
                uuid.uuid4(),
                account.slug,
                key.prefix if key else None,
                "acme/chat",
                provider,
                100,
                20,
                400 + i,
                Status.OK if i else Status.ERROR,
                1_000_000,
            )
            for i in range(n)
        ]
    )


def test_preset_cards_count_endpoints_and_a_breaking_save_asks_first(
    page, width, personas, sign_in, small_catalog, screenshot
):
    sign_in(page, personas.owner)
    page.goto("/a/acme/privacy/")
    counts = page.get_by_test_id("preset-count")
    expect(counts).to_have_count(4)
    expect(counts.nth(2)).to_have_text("Leaves 1 of 5 endpoints")

    page.locator("details.provider-picker").first.locator("summary").click()
    page.locator("label.chip", has_text="safe-ai").first.click()
    expect(counts.nth(2)).to_contain_text("Leaves 0 of 5 endpoints")
    test_privacy_flow._preset(page, "Confidential").click()
    page.get_by_role("button", name="Save privacy settings").click()

    confirm = page.get_by_test_id("confirm-save")
    expect(confirm).to_contain_text("No endpoint would be eligible")
    assert privacy.defaults_for(personas.account).classification == "internal"
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-privacy-confirm")
    confirm.get_by_role("button", name="Save anyway").click()
    expect(page.locator(".message")).to_contain_text("Privacy settings saved")
    assert privacy.defaults_for(personas.account).classification == "confidential"


def test_revoking_a_long_named_key_asks_first_and_the_table_keeps_its_width(
    page, width, personas, sign_in, small_catalog, screenshot
):
    name = "nightly-batch-exporter-for-the-data-warehouse-" * 2
    ApiKey.issue(name=name, account=personas.account)
    sign_in(page, personas.owner)
    page.goto("/a/acme/keys/")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-keys-long-name")

    page.locator("tbody tr", has_text=name).get_by_role("link", name="Revoke…").click()
    expect(page.get_by_test_id("confirm-revoke")).to_contain_text("refused (401)")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-revoke-confirm")
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.locator(".message")).to_contain_text("revoked")


def test_the_catalog_filters_by_region_from_its_menu(page, width, small_catalog, screenshot):
    page.goto("/catalog/")
    expect(page.get_by_test_id("result-count")).to_have_text("5 of 5 endpoints")

    page.get_by_test_id("filter-region").select_option("region:eu")

    expect(page.get_by_test_id("result-count")).to_have_text("1 of 5 endpoints")
    expect(page).to_have_url(re.compile(r"region=region(%3A|:)eu"))
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-catalog-region")


def test_the_changelog_lists_an_approved_change_with_its_evidence(
    page, width, personas, small_catalog, screenshot
):
    current = PolicyVersion.objects.current().get(provider__slug="month-ai", endpoint=None)
    content = {name: getattr(current, name) for name in PolicyVersion.CONTENT_FIELDS}
    content.update(
        retention="zero",
        retention_days=None,
        evidence={
            "retention": {
                "quote": "Inputs are deleted at once.",
                "source_url": "https://month.example/terms",
            }
        },
    )
    approve(propose(current.provider, None, content, origin="manual"), personas.reviewer, "checked")

    page.goto("/catalog/changes/")
    entry = page.get_by_test_id("changelog-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("month-ai")
    entry.locator("summary", has_text="Evidence").click()
    expect(entry).to_contain_text("Inputs are deleted at once.")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-changelog")
    page.get_by_label("Provider").select_option("safe-ai")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("changelog-entry")).to_have_count(0)


def test_the_request_log_filters_and_pages(
    page, width, personas, sign_in, small_catalog, screenshot
):
    key, _ = ApiKey.issue(name="Backend", account=personas.account)
    _traffic(personas.account, key, n=4)
    _traffic(personas.account, provider="month-ai", hours_ago=2, n=2)
    sign_in(page, personas.owner)
    page.goto("/a/acme/requests/")
    expect(page.get_by_test_id("request-row")).to_have_count(6)
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-request-log")

    page.get_by_label("Status").select_option("error")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("request-row")).to_have_count(2)
    expect(page.get_by_test_id("request-row").first).to_contain_text("error")


def _constraint_value(page, constraint):
    name = page.locator("td[data-label=Constraint]", has_text=re.compile(f"^{constraint}$"))
    return page.get_by_test_id("constraint-row").filter(has=name).locator("td[data-label=Value]")


def test_the_playground_resolves_as_the_account_and_shows_constraint_values(
    page, width, personas, sign_in, small_catalog, screenshot
):
    sign_in(page, personas.owner)
    page.goto("/playground/")
    page.get_by_test_id("resolve-as").select_option("account:acme")
    page.get_by_role("button", name="Resolve").click()

    expect(_constraint_value(page, "classification")).to_have_text("internal")
    expect(_constraint_value(page, "retention_days")).to_have_text("at most 30 days")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-playground-as-account")


def test_the_audit_log_reads_as_words_with_a_before_after_table(
    page, width, personas, sign_in, small_catalog, screenshot
):
    privacy.save_defaults(
        personas.account, {"classification": "confidential"}, actor=personas.owner
    )
    sign_in(page, personas.owner)
    page.goto("/a/acme/audit/")

    row = page.locator("table.audit > tbody > tr", has_text="privacy.defaults_changed")
    expect(row.locator("td[data-label=What]")).to_contain_text("Changed the privacy settings")
    expect(row.get_by_test_id("audit-change")).to_contain_text("Data class")
    expect(row.get_by_test_id("audit-change")).not_to_contain_text("{")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-audit-words")


def test_activity_says_traffic_came_before_a_settings_change(
    page, width, personas, sign_in, small_catalog, screenshot
):
    _traffic(personas.account, provider="month-ai", hours_ago=3)
    privacy.save_defaults(personas.account, {"classification": "confidential"})
    sign_in(page, personas.owner)
    page.goto("/a/acme/activity/?range=24h")

    notice = page.get_by_test_id("settings-changed")
    expect(notice).to_contain_text("Your routing settings changed during this period")
    expect(notice).to_contain_text("acme/chat@month-ai")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-activity-settings-changed")


def test_a_reviewer_with_no_account_lands_on_the_review_queue(
    page, width, personas, sign_in, small_catalog, screenshot
):
    sign_in(page, personas.reviewer)
    expect(page).to_have_url(re.compile(r"/review/$"))
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Create")
    assert_fits_the_screen(page, width)
    screenshot(page, "first-hour-reviewer-landing")
