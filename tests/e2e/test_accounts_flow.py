"""Signing in, switching accounts, API keys and the audit log, driven through Chromium at
desktop (1280 px) and phone (390 px) widths."""

import csv
import hashlib
import io
import re

import pytest
from django.apps import apps
from playwright.sync_api import expect

from dashboard.apikeys import create_key
from dashboard.models import ApiKey, Membership, Role
from tests.e2e.layout import assert_fits_the_screen

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SECRET_FORMAT = re.compile(r"(?P<prefix>aa[0-9a-f]{10})\.(?P<secret>[A-Za-z0-9_-]{43})")


def _create_key_in_browser(page, name):
    """Creates a key through the htmx form on the keys page; returns the secret shown."""
    page.goto("/a/acme/keys/")
    page.get_by_label("Name").fill(name)
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.get_by_role("button", name="Create key").click()
    assert response.value.request.headers.get("hx-request") == "true"
    return page.get_by_test_id("new-secret").inner_text().strip()


def _key_row(page, name):
    # A CSS row, not an ARIA one: on phones the table is restyled into stacked cards.
    return page.locator("tbody tr", has_text=name)


def _revoke_key_in_browser(page, name):
    _key_row(page, name).get_by_role("link", name="Revoke…").click()
    expect(page.get_by_test_id("confirm-revoke")).to_contain_text("refused (401)")
    page.get_by_role("button", name="Revoke the key").click()
    expect(page.locator(".message")).to_contain_text(f"Key {name}")


def _database_rows_containing(text):
    """Every stored value, in every table the project's models own, that contains `text`."""
    found = []
    for model in apps.get_models():
        for row in model._default_manager.values_list():
            found += [(model.__name__, value) for value in row if text in str(value)]
    return found


def test_owner_signs_in_with_email_and_password_and_lands_on_the_accounts_activity(
    page, personas, sign_in, screenshot
):
    sign_in(page, personas.owner)

    expect(page).to_have_url(re.compile(r"/a/acme/activity/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    page.goto("/a/acme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme")
    expect(page.locator(".lead")).to_contain_text("You are owner of this account.")
    screenshot(page, "overview")


def test_wrong_password_keeps_you_on_the_sign_in_page_with_an_error(page, personas):
    page.goto("/login/")
    page.get_by_label("Email").fill(personas.owner.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("That email and password do not match")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_label("Email")).to_have_value(personas.owner.email)


def test_person_in_two_accounts_switches_to_the_other_one_from_the_switcher(
    page, personas, sign_in
):
    Membership.objects.create(account=personas.other_account, user=personas.owner, role=Role.ADMIN)
    sign_in(page, personas.owner)
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")

    switcher = page.locator("details.menu.switcher")
    switcher.locator("summary").click()
    switcher.get_by_role("link", name="Globex").click()

    expect(page).to_have_url(re.compile(r"/a/globex/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Globex")
    expect(switcher.locator("summary")).to_have_text("Globex")


def test_new_key_secret_is_shown_once_and_never_stored(page, personas, sign_in, screenshot):
    sign_in(page, personas.owner)

    shown = _create_key_in_browser(page, "Gateway")

    match = SECRET_FORMAT.fullmatch(shown)
    assert match, shown
    expect(_key_row(page, "Gateway")).to_contain_text(match["prefix"])
    screenshot(page, "keys")
    key = ApiKey.objects.get(prefix=match["prefix"])
    assert key.secret_hash != shown
    assert key.secret_hash == hashlib.sha256(match["secret"].encode()).hexdigest()
    assert _database_rows_containing(match["secret"]) == []

    page.reload()
    expect(_key_row(page, "Gateway")).to_be_visible()
    expect(page.get_by_test_id("new-secret")).to_have_count(0)
    expect(page.get_by_text(match["secret"])).to_have_count(0)


def test_owner_revokes_a_key_and_it_shows_as_revoked(page, personas, sign_in):
    sign_in(page, personas.owner)
    _create_key_in_browser(page, "Old gateway")

    _revoke_key_in_browser(page, "Old gateway")

    row = _key_row(page, "Old gateway")
    expect(row.locator("td[data-label=Status]")).to_contain_text("revoked")
    expect(row.get_by_role("link", name="Revoke…")).to_have_count(0)
    assert ApiKey.objects.get(name="Old gateway").revoked_at is not None


def test_audit_log_lists_key_creation_and_revocation_with_the_actor(
    page, personas, sign_in, screenshot
):
    sign_in(page, personas.owner)
    prefix = _create_key_in_browser(page, "Audited").split(".")[0]
    _revoke_key_in_browser(page, "Audited")

    page.goto("/a/acme/audit/")

    for action in ("apikey.created", "apikey.revoked"):
        row = page.locator("tbody tr", has_text=action)
        expect(row).to_have_count(1)
        expect(row.locator("td[data-label=What]")).to_contain_text(prefix)
        expect(row.locator("td[data-label=Who]")).to_have_text(personas.owner.email)
    screenshot(page, "audit-log")


def test_audit_export_downloads_a_csv_with_the_key_events(page, personas, sign_in):
    sign_in(page, personas.owner)
    prefix = _create_key_in_browser(page, "Exported").split(".")[0]
    _revoke_key_in_browser(page, "Exported")
    page.goto("/a/acme/audit/")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()

    assert download.value.suggested_filename == "audit-acme.csv"
    with open(download.value.path(), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    events = {(row["action"], row["target"], row["actor"]) for row in rows}
    assert ("apikey.created", prefix, personas.owner.email) in events
    assert ("apikey.revoked", prefix, personas.owner.email) in events


def test_member_sees_the_keys_but_cannot_create_or_revoke_them(page, personas, sign_in):
    create_key(name="Shared gateway", kind=ApiKey.Kind.INFERENCE, account=personas.account)
    sign_in(page, personas.member)

    page.goto("/a/acme/keys/")

    expect(_key_row(page, "Shared gateway")).to_contain_text("active")
    expect(page.get_by_role("heading", name="Create a key")).to_have_count(0)
    expect(page.locator("form[hx-post]")).to_have_count(0)
    expect(page.get_by_role("link", name="Revoke…")).to_have_count(0)


def test_owner_sees_every_member_of_the_account_with_their_role(
    page, personas, sign_in, screenshot
):
    sign_in(page, personas.owner)

    page.goto("/a/acme/members/")

    for person in (personas.owner, personas.admin, personas.member):
        expect(page.locator("tbody tr", has_text=person.email)).to_have_count(1)
    expect(page.locator("tbody tr", has_text=personas.outsider.email)).to_have_count(0)
    expect(page.get_by_label(f"Role of {personas.member.email}")).to_have_value("member")
    screenshot(page, "members")


@pytest.mark.parametrize(
    "path",
    [
        "/a/acme/",
        "/a/acme/keys/",
        "/a/acme/members/",
        "/a/acme/audit/",
    ],
)
def test_account_pages_fit_a_phone_screen_without_sideways_scrolling(
    page_at, personas, sign_in, path
):
    create_key(name="Gateway", kind=ApiKey.Kind.INFERENCE, account=personas.account)
    page = sign_in(page_at(390), personas.owner)

    page.goto(path)

    assert_fits_the_screen(page, 390)


def test_user_menu_opens_fully_on_screen(page, width, personas, sign_in):
    sign_in(page, personas.owner)

    page.locator("details.user-menu summary").click()

    menu = page.locator("details.user-menu ul").bounding_box()
    assert menu["x"] >= 0
    assert menu["x"] + menu["width"] <= width
