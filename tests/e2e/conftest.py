"""Headless Chromium against the live server: one browser per session, one context per page.

Every page records console errors, uncaught exceptions and the URL of every request; after each
test none of the first two may have happened and every request must have gone to this machine.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API keeps an asyncio loop running on the main thread, so Django would take
# the fixtures' and tests' ORM calls for calls from async code and refuse them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Schemes that never leave the browser (inline images, about:blank).
LOCAL_SCHEMES = {"data", "blob", "about"}
TIMEOUT_MS = 10_000


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOOPBACK_HOSTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(params=sorted(VIEWPORTS, reverse=True))
def width(request):
    return request.param


class BrowserLog:
    """What the pages of one test did that a test should never see."""

    def __init__(self):
        self.console_errors, self.page_errors, self.requests = [], [], []

    def watch(self, context):
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def remote_requests(self):
        return [url for url in self.requests if not _is_local(url)]


@pytest.fixture
def page_at(browser, live_server, request, screenshot):
    """`page_at(width)`: a page in a fresh context (its own cookies) sized 1280×900 or 390×844,
    with relative URLs resolved against the live server."""
    log, contexts = BrowserLog(), []

    def open_page(width):
        context = browser.new_context(
            viewport=VIEWPORTS[width], base_url=live_server.url, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        log.watch(context)
        # Chromium runs outside the socket block of the unit tests: stop anything remote here.
        context.route(lambda url: not _is_local(url), lambda route: route.abort())
        contexts.append(context)
        return context.new_page()

    yield open_page
    if getattr(request.node, "e2e_failed", False):
        for n, context in enumerate(contexts):
            for page in context.pages:
                screenshot(page, f"FAILED-{request.node.name}-{n}")
    for context in contexts:
        context.close()
    seen = {
        "console errors": log.console_errors,
        "page errors": log.page_errors,
        "requests off this machine": log.remote_requests(),
    }
    assert seen == {name: [] for name in seen}


@pytest.fixture
def page(page_at, width):
    return page_at(width)


@pytest.fixture
def sign_in(personas):
    """`sign_in(page, user)`: signs in through the login form and waits to leave it."""

    def sign_in(page, user, password=personas.PASSWORD):
        page.goto("/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: urlsplit(url).path != "/login/")
        return page

    return sign_in


@pytest.fixture(scope="session")
def screenshot(pytestconfig):
    """`screenshot(page, name)`: the whole page, saved as test-artifacts/screenshots/
    <name>-<width>.png (the folder is gitignored)."""
    folder = Path(pytestconfig.rootpath) / "test-artifacts" / "screenshots"

    def take(page, name):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{page.viewport_size['width']}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def small_catalog(transactional_db, settings):
    """The catalog of tests/catalog/conftest.py (safe-ai, month-ai, free-ai), committed."""
    from tests.catalog.conftest import SMALL_CATALOG
    from tests.e2e.catalogs import committed_catalog

    settings.CATALOG_VERSION_CHECK_SECONDS = 0
    yield from committed_catalog(SMALL_CATALOG)
