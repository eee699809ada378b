"""Sign-in throttling holds when the guesses arrive all at once, against a real threaded server."""

import re
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

pytestmark = pytest.mark.django_db(transaction=True)

GUESSES = 30
LIMIT = 5


class SlowHasher(PBKDF2PasswordHasher):
    """Slow enough (tens of ms) that parallel guesses overlap, as real password hashing does."""

    iterations = 60_000


def _guess(base_url, email, password, address=None):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    data = urllib.parse.urlencode(
        {"username": email, "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"{base_url}/login/", data=data)
    request.add_header("Referer", f"{base_url}/login/")
    if address:
        request.add_header("X-Forwarded-For", address)
    body = opener.open(request, timeout=60).read().decode()
    if "Too many failed sign-in attempts" in body:
        return "locked"
    if "do not match" in body:
        return "checked"
    return "signed in"


@pytest.fixture
def slow_hashing(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.SlowHasher"]
    settings.LOGIN_FAILURE_LIMIT = LIMIT


def test_parallel_guesses_for_one_email_get_at_most_the_limit_of_password_checks(
    live_server, slow_hashing, django_user_model
):
    django_user_model.objects.create_user("victim@acme.test", "victim@acme.test", "right pass")
    passwords = ["wrong"] * (GUESSES - 1) + ["right pass"]
    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        answers = list(
            pool.map(lambda p: _guess(live_server.url, "victim@acme.test", p), passwords)
        )

    tried = [a for a in answers if a != "locked"]
    assert len(tried) <= LIMIT, answers
    assert answers.count("locked") >= GUESSES - LIMIT


def test_parallel_guesses_from_one_address_across_emails_are_bounded_too(
    live_server, slow_hashing, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    emails = [f"nobody{n}@acme.test" for n in range(GUESSES)]
    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        answers = list(
            pool.map(lambda e: _guess(live_server.url, e, "wrong", "198.51.100.7"), emails)
        )
    assert answers.count("checked") <= LIMIT * 4, answers
    assert answers.count("locked") >= GUESSES - LIMIT * 4
