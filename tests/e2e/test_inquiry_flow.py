"""A member asks the privacy team from a provider's page, a reviewer answers from the inbox with
an internal note beside the answer, and the member reads the answer and closes the inquiry:
through Chromium at desktop (1280 px) and phone (390 px) widths."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.models import Inquiry
from tests.e2e.layout import assert_fits_the_screen

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

QUESTION = (
    "Month AI says it keeps API data for 30 days. Does that include content its abuse "
    "classifiers flag, or is flagged content kept longer?"
)
NOTE = "Internal: their terms page moved; check the new DPA before answering again."
ANSWER = (
    "Flagged content may be kept longer: the catalog now lists safety retention as flagged only."
)


def _status(page):
    return page.get_by_test_id("inquiry-status")


def test_a_member_asks_from_a_provider_page_a_reviewer_answers_and_the_member_closes(
    page_at, width, personas, sign_in, small_catalog, screenshot
):
    member = sign_in(page_at(width), personas.member)
    member.goto("/catalog/providers/month-ai/")
    member.get_by_test_id("ask-about-provider").click()
    expect(member).to_have_url(re.compile(r"/a/acme/inquiries/new/\?provider=month-ai$"))
    expect(member.get_by_test_id("no-secrets")).to_contain_text("Do not paste prompts")
    expect(member.get_by_label("Related provider (optional)")).to_have_value("month-ai")
    member.get_by_label("Message").fill(QUESTION)
    assert_fits_the_screen(member, width)
    screenshot(member, "inquiry-ask-form")
    member.get_by_role("button", name="Send to the privacy team").click()

    expect(member).to_have_url(re.compile(r"/a/acme/inquiries/\d+/$"))
    expect(_status(member)).to_have_text("with the privacy team")
    expect(member.locator(".thread-body")).to_have_text([QUESTION])
    inquiry = Inquiry.objects.get()

    reviewer = sign_in(page_at(width), personas.reviewer)
    reviewer.goto("/review/")
    reviewer.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Privacy inbox"
    ).click()
    expect(reviewer.get_by_test_id("tab-open")).to_contain_text("1")
    assert_fits_the_screen(reviewer, width)
    screenshot(reviewer, "inquiry-inbox")
    reviewer.get_by_role(
        "link", name=f"#{inquiry.pk} Question about the policy of Month AI"
    ).click()
    reviewer.get_by_label("Assigned to").select_option(label=personas.reviewer.email)
    reviewer.get_by_role("button", name="Assign").click()
    expect(reviewer.locator(".messages")).to_contain_text("Assigned to reviewer@anyapi.test")
    reviewer.get_by_label("Answer or internal note").fill(NOTE)
    reviewer.get_by_role("button", name="Add internal note").click()
    expect(reviewer.locator(".thread-item.internal")).to_contain_text(NOTE)
    reviewer.get_by_label("Answer or internal note").fill(ANSWER)
    reviewer.get_by_role("button", name="Send answer").click()
    expect(_status(reviewer)).to_have_text("waiting on customer")
    expect(reviewer.locator(".thread-body")).to_have_text([QUESTION, NOTE, ANSWER])
    assert_fits_the_screen(reviewer, width)
    screenshot(reviewer, "inquiry-answer")

    member.goto("/notifications/")
    expect(member.locator(".notification-title").first).to_have_text(
        f"Your privacy inquiry #{inquiry.pk}: the privacy team answered"
    )
    member.get_by_role("button", name="Open").first.click()
    expect(member).to_have_url(re.compile(rf"/a/acme/inquiries/{inquiry.pk}/$"))
    expect(_status(member)).to_have_text("answered")
    expect(member.locator(".thread-body")).to_have_text([QUESTION, ANSWER])
    expect(member.get_by_text("AnyAPI privacy team")).to_be_visible()
    assert NOTE not in member.content()
    member.get_by_role("button", name="Close inquiry").click()
    expect(_status(member)).to_have_text("closed")
    expect(member.get_by_role("button", name="Close inquiry")).to_have_count(0)
    assert_fits_the_screen(member, width)
    screenshot(member, "inquiry-closed")

    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.CLOSED


def test_every_page_links_the_privacy_policy_and_the_terms(page_at, width, settings, db):
    settings.PRIVACY_POLICY_URL = "https://legal.example/privacy"
    settings.TERMS_OF_SERVICE_URL = "https://legal.example/terms"
    page = page_at(width)
    page.goto("/login/")
    footer = page.get_by_role("navigation", name="Legal")
    expect(footer.get_by_role("link", name="Privacy policy")).to_have_attribute(
        "href", "https://legal.example/privacy"
    )
    expect(footer.get_by_role("link", name="Terms of service")).to_have_attribute(
        "href", "https://legal.example/terms"
    )


def test_an_owner_confirms_the_privacy_settings_unchanged_with_one_click(
    page_at, width, personas, sign_in, small_catalog, screenshot
):
    owner = sign_in(page_at(width), personas.owner)
    owner.goto("/a/acme/privacy/")
    box = owner.get_by_test_id("settings-review")
    expect(box).to_contain_text("Not yet: the account was created on")
    owner.get_by_role("button", name="Confirm unchanged").click()
    expect(owner).to_have_url(re.compile(r"/a/acme/privacy/$"))
    expect(box).to_contain_text("by owner@acme.test (confirmed unchanged)")
    expect(box).to_contain_text("Next review due by")
    assert_fits_the_screen(owner, width)
    screenshot(owner, "privacy-settings-reviewed")
