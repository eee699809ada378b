import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def _try(client, email, password, ip="198.51.100.7"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_the_email_is_not_case_sensitive(client, personas):
    assert _try(client, "Owner@ACME.test", personas.PASSWORD).status_code == 302


def test_signing_in_with_the_right_password_lands_on_the_accounts_activity(client, personas):
    response = _try(client, "owner@acme.test", personas.PASSWORD)
    assert response.status_code == 302
    assert client.get("/").headers["Location"] == "/a/acme/activity/"


def test_a_reviewer_with_no_account_lands_on_the_review_queue(client, personas):
    assert _try(client, "reviewer@anyapi.test", personas.PASSWORD).status_code == 302
    assert client.get("/").headers["Location"] == "/review/"


def test_a_customer_with_no_account_lands_on_creating_one(client, personas):
    client.force_login(personas.outsider)
    personas.outsider.memberships.all().delete()
    assert client.get("/").headers["Location"] == "/accounts/"


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_repeated_wrong_passwords_lock_the_email_with_a_clear_message(client, personas):
    for _ in range(3):
        _try(client, "owner@acme.test", "wrong")
    response = _try(client, "owner@acme.test", personas.PASSWORD)
    assert response.status_code == 200
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_a_lockout_of_one_email_leaves_others_alone(client, personas):
    for _ in range(3):
        _try(client, "owner@acme.test", "wrong")
    assert _try(client, "member@acme.test", personas.PASSWORD).status_code == 302


@override_settings(LOGIN_FAILURE_LIMIT=2)
def test_one_address_guessing_many_emails_is_slowed_too(client, personas):
    for n in range(8):
        _try(client, f"nobody{n}@acme.test", "wrong")
    assert b"Too many failed" in _try(client, "member@acme.test", personas.PASSWORD).content


def test_a_successful_sign_in_forgets_earlier_failures(client, personas, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        _try(client, "owner@acme.test", "wrong")
    assert _try(client, "owner@acme.test", personas.PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        _try(client, "owner@acme.test", "wrong")
    assert _try(client, "owner@acme.test", personas.PASSWORD).status_code == 302


def test_password_change_requires_the_old_password(client_for, personas):
    client = client_for(personas.member)
    response = client.post(
        "/password/",
        {
            "old_password": "wrong",
            "new_password1": "n3w pass word",
            "new_password2": "n3w pass word",
        },
    )
    assert response.status_code == 200
    response = client.post(
        "/password/",
        {
            "old_password": personas.PASSWORD,
            "new_password1": "n3w pass word!",
            "new_password2": "n3w pass word!",
        },
    )
    assert response.status_code == 302
    personas.member.refresh_from_db()
    assert personas.member.check_password("n3w pass word!")


def test_signing_out_requires_post_and_ends_the_session(client_for, personas):
    client = client_for(personas.member)
    client.post("/logout/")
    assert client.get("/a/acme/").status_code == 302


def test_healthz_reports_each_dependency(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"database", "catalog", "cache", "broker", "worker"}
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]
    assert body["checks"]["broker"]["ok"]


def _staff_client(client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("ops@anyapi.test", is_staff=True))
    return client


def test_a_missing_worker_is_reported_without_failing_the_web_check(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    body = _staff_client(client).get("/healthz").json()
    assert body["checks"]["worker"] == {
        "ok": False,
        "error": "RuntimeError: no worker heartbeat yet",
    }
    assert body["status"] == "ok"


class UnreachableCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("cache unreachable")

    get = set


def test_healthz_says_degraded_but_stays_in_service_when_the_cache_is_down(client, monkeypatch):
    monkeypatch.setattr("dashboard.health.cache", UnreachableCache())
    response = _staff_client(client).get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["cache"] == {
        "ok": False,
        "error": "ConnectionError: cache unreachable",
    }


def test_healthz_is_503_and_degraded_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("dashboard.health._database", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "degraded"


def test_healthz_shows_error_details_to_staff_only(client, monkeypatch):
    monkeypatch.setattr("dashboard.health.cache", UnreachableCache())
    anonymous = client.get("/healthz").json()
    assert anonymous["checks"]["cache"] == {"ok": False}
    assert all(set(check) == {"ok"} for check in anonymous["checks"].values())
    assert "error" in _staff_client(client).get("/healthz").json()["checks"]["cache"]


def test_healthz_is_described_in_the_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    assert "/healthz" in schema["paths"]


def test_unknown_pages_get_the_friendly_404(client_for, personas, settings):
    settings.DEBUG = False
    response = client_for(personas.member).get("/no/such/page/")
    assert response.status_code == 404 and b"Not found" in response.content
