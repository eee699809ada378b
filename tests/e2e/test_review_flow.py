"""The privacy team's review flow, driven through Chromium at desktop (1280 px) and phone
(390 px) widths: a change detected on a real local page, field values edited by one reviewer
and approved by a second, and the provider page showing the approved value."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from catalog.models import PolicyChange, PolicySource, PolicyVersion, Provider, SourceAlert
from catalog.refresh.pipeline import CHANGED, refresh_source
from tests.catalog.local_server import LocalServer
from tests.e2e.layout import assert_fits_the_screen, boxes_scrolling_sideways

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

POLICY_PAGE = """<html><body><nav>Home</nav><main id="policy"><h1>API data usage</h1>
<p>We do not train on API data.</p>
<p>API inputs are deleted after 30 days unless flagged for abuse review.</p></main>
<footer>© Month AI</footer></body></html>"""


@pytest.fixture
def detected_change(small_catalog, settings):
    """Month AI's page says 30 days, then 90: two refreshes make one open change."""
    with LocalServer() as server:
        settings.FETCH_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
        settings.FETCH_ALLOWED_PORTS = [server.port]
        server.page("/api-data", POLICY_PAGE)
        source = PolicySource.objects.create(
            provider=Provider.objects.get(slug="month-ai"),
            url=server.url("/api-data"),
            select="#policy",
        )
        refresh_source(source.pk)
        server.page("/api-data", POLICY_PAGE.replace("30 days", "90 days"))
        assert refresh_source(source.pk) == CHANGED
    return PolicyChange.objects.get()


@pytest.fixture
def second_reviewer(personas):
    user = get_user_model().objects.create_user(
        "second@anyapi.test", "second@anyapi.test", personas.PASSWORD
    )
    user.groups.add(Group.objects.get(name="privacy-team"))
    return user


def _stale_policy_and_failing_source():
    """Free AI's policy past its review date and a Safe AI source failing, on other providers
    than the change's, so the queue shows every section."""
    free = PolicyVersion.objects.current().filter(provider__slug="free-ai", endpoint=None)
    free.update(review_due="2020-01-01")
    source = PolicySource.objects.create(
        provider=Provider.objects.get(slug="safe-ai"),
        url="https://safe.example/legal/privacy/enterprise/api/data-usage-and-retention",
        failure_streak=3,
    )
    SourceAlert.objects.create(source=source, last_error="timeout: no answer in 20 s")


def _open_queue_from_the_menu(page):
    page.goto("/catalog/")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Review queue").click()
    expect(page).to_have_url(re.compile(r"/review/$"))


def _field_pair(page, legend):
    return page.locator("fieldset.field-pair").filter(
        has=page.locator("legend", has_text=re.compile(f"^{legend}$"))
    )


def test_a_detected_change_is_edited_by_one_reviewer_and_approved_by_a_second(
    page_at, width, personas, second_reviewer, sign_in, detected_change, screenshot
):
    _stale_policy_and_failing_source()
    first = sign_in(page_at(width), personas.reviewer)
    _open_queue_from_the_menu(first)
    expect(first.locator("#stale tbody tr")).to_contain_text("Free AI")
    expect(first.locator("#failing tbody tr")).to_contain_text("timeout: no answer in 20 s")
    row = first.locator(f"#changes tr[data-change='{detected_change.pk}']")
    expect(row).to_contain_text("Month AI")
    expect(row.locator("td[data-label=Kind]")).to_have_text("material")
    screenshot(first, "review-queue")
    assert_fits_the_screen(first, width)

    row.get_by_role("link").click()
    expect(first).to_have_url(re.compile(rf"/review/changes/{detected_change.pk}/$"))
    # Diffs mark whole sentences: the one that changed, before and after.
    expect(first.locator(".diff-before del")).to_contain_text("deleted after 30 days")
    expect(first.locator(".diff-after ins")).to_contain_text("deleted after 90 days")

    first.get_by_text("Edit field values").click()
    days = _field_pair(first, "Retention days")
    days.get_by_label("Retention days", exact=True).fill("90")
    # The retention quote carries the days too.
    retention = _field_pair(first, "Retention")
    retention.get_by_label("Evidence passage").fill("API inputs are deleted after 90 days")
    first.get_by_label("Why (required").fill("The page now keeps inputs for 90 days.")
    screenshot(first, "change-edit")
    first.get_by_role("button", name="Save field values").click()

    expect(first.locator(".message")).to_contain_text("Another reviewer must approve them.")
    expect(first.get_by_test_id("four-eyes")).to_contain_text(
        "You edited these values; another reviewer must approve"
    )
    expect(first.get_by_role("button", name="Approve")).to_have_count(0)
    expect(first.locator("tr[data-field=retention_days]")).to_have_class("changed")

    second = sign_in(page_at(width), second_reviewer)
    second.goto(f"/review/changes/{detected_change.pk}/")
    impact = second.get_by_test_id("impact")
    expect(impact.get_by_test_id("impact-item").filter(has_text="account acme")).to_contain_text(
        "loses 1 eligible endpoint: acme/chat@month-ai"
    )
    expect(second.locator(".review-history li")).to_contain_text("edited the field values")
    screenshot(second, "change-detail")
    assert_fits_the_screen(second, width)
    assert boxes_scrolling_sideways(second) == []

    second.get_by_label("Comment (required").fill("Matches the provider's new page.")
    second.get_by_role("button", name="Approve").click()

    expect(second.locator(".message")).to_have_text("Approved: the catalog now uses these values.")
    expect(second.get_by_test_id("change-status")).to_have_text("approved")
    expect(second.get_by_role("button", name="Approve")).to_have_count(0)

    second.get_by_role("link", name="Month AI").first.click()
    expect(second).to_have_url(re.compile(r"/catalog/providers/month-ai/$"))
    default_policy = second.locator(
        "section.card", has=second.get_by_role("heading", name="Default data policy")
    )
    days_row = default_policy.locator(
        ".policy-row", has=second.locator("dt", has_text=re.compile("^Retention days$"))
    )
    expect(days_row.locator("dd")).to_contain_text("90")
    expect(days_row.locator("blockquote.evidence")).to_contain_text(
        "API inputs are deleted after 90 days"
    )


def test_the_sources_page_refreshes_every_source_with_a_progress_bar(
    page_at, width, personas, sign_in, detected_change, screenshot, settings
):
    page = sign_in(page_at(width), personas.reviewer)
    page.goto("/review/sources/")
    expect(page.locator("tr[data-source]")).to_have_count(1)

    # The local server has stopped: the refresh fails, and says so.
    settings.REFRESH_RETRIES = 0
    page.get_by_role("button", name="Refresh all now").click()

    progress = page.get_by_test_id("refresh-progress")
    expect(progress.get_by_role("heading")).to_have_text("Refresh finished")
    expect(progress.get_by_test_id("run-failed")).to_have_text("1")
    expect(progress.locator("progress")).to_have_attribute("value", "1")
    screenshot(page, "source-list")
    assert_fits_the_screen(page, width)


@pytest.mark.parametrize(
    "path",
    [
        "/review/",
        "/review/sources/",
        "/review/changes/{pk}/",
        "/review/providers/month-ai/propose/",
    ],
)
def test_review_pages_fit_a_phone_screen_without_sideways_scrolling(
    page_at, personas, sign_in, detected_change, path
):
    page = sign_in(page_at(390), personas.reviewer)

    page.goto(path.format(pk=detected_change.pk))
    page.locator("details").evaluate_all("all => all.forEach(d => { d.open = true; })")

    assert_fits_the_screen(page, 390)
    assert boxes_scrolling_sideways(page) == []
