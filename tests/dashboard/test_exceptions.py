"""Time-boxed provider exceptions: owners only, audited, effective at once, expiring on time."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.policy import resolver, snapshot
from dashboard import exceptions
from dashboard.models import ApiKey, AuditEvent, Notification, PrivacyDefaults, ProviderException
from dashboard.privacy import layers_for_key
from dashboard.tasks import expire_exceptions

pytestmark = pytest.mark.django_db

START = timezone.datetime(2030, 3, 1, 12, 0, tzinfo=timezone.UTC)


@pytest.fixture
def catalog(small_catalog):
    return small_catalog


@pytest.fixture
def excluding(personas):
    """Acme's defaults exclude free-ai, the provider the exceptions re-admit."""
    return PrivacyDefaults.objects.create(account=personas.account, exclude=["free-ai"])


@pytest.fixture
def key(personas):
    return ApiKey.issue(name="gateway", account=personas.account)[0]


def _form(until=None, **fields):
    until = until or timezone.now() + timedelta(days=7)
    return {
        "provider": "free-ai",
        "key": "",
        "until": until.strftime("%Y-%m-%dT%H:%M"),
        "reason": "Evaluating Free AI's new model on public data only",
        **fields,
    }


def _create(personas, *, until, key=None, provider="free-ai"):
    return exceptions.create_exception(
        personas.account, provider=provider, until=until, reason="a trial", key=key
    )


def _excluded_providers(key) -> frozenset[str]:
    return resolver.merge(layers_for_key(key)).exclude


def _eligible(key, model="acme/chat") -> list[str]:
    effective = resolver.merge(layers_for_key(key))
    today = timezone.now().date()
    return [
        e.id for e in resolver.resolve(snapshot.get_catalog(), model, effective, today).eligible
    ]


# --- The page: owners only ---------------------------------------------------------------------


def test_an_exception_for_a_provider_nothing_excludes_is_refused_as_changing_nothing(
    client_for, personas, catalog
):
    response = client_for(personas.owner).post("/a/acme/exceptions/", _form())

    assert response.status_code == 200
    assert "Nothing excludes free-ai" in response.content.decode()
    assert "would change nothing" in response.content.decode()
    assert not ProviderException.objects.exists()


def test_an_exception_for_a_provider_a_keys_only_list_leaves_out_is_accepted(
    client_for, personas, catalog, key
):
    from dashboard import privacy

    privacy.save_guardrail(key, {"only": ["safe-ai"]})

    client_for(personas.owner).post(
        "/a/acme/exceptions/", _form(provider="month-ai", key=key.prefix)
    )

    assert ProviderException.objects.get().provider == "month-ai"


def test_an_owner_allows_a_provider_until_a_date_with_a_reason(
    client_for, personas, catalog, excluding
):
    response = client_for(personas.owner).post("/a/acme/exceptions/", _form())
    assert response.status_code == 200
    exception = ProviderException.objects.get()
    assert (exception.account, exception.provider, exception.key) == (
        personas.account,
        "free-ai",
        None,
    )
    assert exception.created_by == personas.owner
    assert "is allowed for" in response.content.decode()


def test_creating_an_exception_is_audited(client_for, personas, catalog, excluding):
    client_for(personas.owner).post("/a/acme/exceptions/", _form(), REMOTE_ADDR="203.0.113.7")
    event = AuditEvent.objects.get(action="exception.created")
    assert event.account == personas.account and event.actor == personas.owner
    assert event.ip_address == "203.0.113.7"
    assert event.after["provider"] == "free-ai" and event.after["reason"].startswith("Evaluating")


def test_an_htmx_post_renders_only_the_panel(client_for, personas, catalog):
    response = client_for(personas.owner).post(
        "/a/acme/exceptions/", _form(), headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="exception-panel">') and "<html" not in page


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admins_and_members_may_not_see_or_create_exceptions(client_for, personas, catalog, role):
    client = client_for(getattr(personas, role))
    assert client.get("/a/acme/exceptions/").status_code == 403
    assert client.post("/a/acme/exceptions/", _form()).status_code == 403
    assert not ProviderException.objects.exists()


@pytest.mark.parametrize("role", ["admin", "member"])
def test_admins_and_members_may_not_revoke_an_exception(client_for, personas, catalog, role):
    exception = _create(personas, until=timezone.now() + timedelta(days=1))
    response = client_for(getattr(personas, role)).post(
        f"/a/acme/exceptions/{exception.pk}/revoke/"
    )
    assert response.status_code == 403
    assert ProviderException.objects.get().revoked_at is None


def test_the_exceptions_page_needs_a_sign_in(client, personas):
    response = client.get("/a/acme/exceptions/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_another_accounts_exceptions_are_404(client_for, personas, catalog):
    theirs = ProviderException.objects.create(
        account=personas.other_account,
        provider="free-ai",
        until=timezone.now() + timedelta(days=1),
        reason="theirs",
    )
    client = client_for(personas.owner)
    assert client.post(f"/a/acme/exceptions/{theirs.pk}/revoke/").status_code == 404
    assert client.get("/a/globex/exceptions/").status_code == 404
    assert "theirs" not in client.get("/a/acme/exceptions/").content.decode()
    assert ProviderException.objects.get().revoked_at is None


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (timedelta(minutes=-5), "Pick a time in the future."),
        (timedelta(days=91), "At most 90 days ahead"),
    ],
)
def test_until_must_be_in_the_future_and_at_most_90_days_ahead(
    client_for, personas, catalog, until, message
):
    response = client_for(personas.owner).post(
        "/a/acme/exceptions/", _form(until=timezone.now() + until)
    )
    assert message in response.content.decode()
    assert not ProviderException.objects.exists()


def test_ninety_days_ahead_is_still_allowed(client_for, personas, catalog, excluding):
    until = timezone.now() + timedelta(days=90) - timedelta(minutes=2)
    client_for(personas.owner).post("/a/acme/exceptions/", _form(until=until))
    assert ProviderException.objects.count() == 1


def test_a_reason_is_required(client_for, personas, catalog):
    response = client_for(personas.owner).post("/a/acme/exceptions/", _form(reason="  "))
    assert "This field is required." in response.content.decode()
    assert not ProviderException.objects.exists()


def test_the_provider_must_be_in_the_catalog(client_for, personas, catalog):
    client_for(personas.owner).post("/a/acme/exceptions/", _form(provider="no-such-ai"))
    assert not ProviderException.objects.exists()


def test_the_key_must_be_an_active_key_of_this_account(
    client_for, personas, catalog, key, excluding
):
    theirs = ApiKey.issue(name="theirs", account=personas.other_account)[0]
    revoked = ApiKey.issue(name="old", account=personas.account)[0]
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    client = client_for(personas.owner)
    for prefix in (theirs.prefix, revoked.prefix):
        client.post("/a/acme/exceptions/", _form(key=prefix))
    assert not ProviderException.objects.exists()
    client.post("/a/acme/exceptions/", _form(key=key.prefix))
    assert ProviderException.objects.get().key == key


def test_the_page_lists_active_and_past_exceptions(client_for, personas, catalog):
    _create(personas, until=timezone.now() + timedelta(days=3), provider="free-ai")
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        _create(personas, until=timezone.now() + timedelta(days=1), provider="month-ai")
    page = client_for(personas.owner).get("/a/acme/exceptions/").content.decode()
    active, past = page.split("<h2>Active</h2>")[1].split("<h2>Past</h2>")
    assert "free-ai" in active and "month-ai" not in active
    assert "month-ai" in past and "expired" in past


def test_the_page_makes_a_fixed_number_of_queries(client_for, personas, catalog, key):
    client = client_for(personas.owner)
    client.get("/a/acme/exceptions/")  # the first visit remembers the current account
    _create(personas, until=timezone.now() + timedelta(days=1))
    with CaptureQueriesContext(connection) as few:
        client.get("/a/acme/exceptions/")
    for n in range(8):
        _create(personas, until=timezone.now() + timedelta(days=1 + n), key=key)
        ProviderException.objects.create(
            account=personas.account,
            provider="month-ai",
            until=timezone.now() - timedelta(days=n + 1),
            reason="past",
            created_by=personas.admin,
        )
    with CaptureQueriesContext(connection) as many:
        client.get("/a/acme/exceptions/")
    assert len(many) == len(few)


# --- Effect on the gateway's layers ------------------------------------------------------------


def test_an_account_exception_readmits_the_provider_at_once(personas, catalog, excluding, key):
    assert "free-ai" in _excluded_providers(key)  # and now cached
    _create(personas, until=timezone.now() + timedelta(hours=2))
    assert "free-ai" not in _excluded_providers(key)
    assert "acme/chat@free-ai" in _eligible(key)


def test_a_key_exception_readmits_the_provider_for_that_key_only(personas, catalog, excluding, key):
    other = ApiKey.issue(name="other", account=personas.account)[0]
    _create(personas, until=timezone.now() + timedelta(hours=2), key=key)
    assert "free-ai" not in _excluded_providers(key)
    assert "free-ai" in _excluded_providers(other)


def test_revoking_is_audited_and_takes_effect_at_once(
    client_for, personas, catalog, excluding, key
):
    exception = _create(personas, until=timezone.now() + timedelta(hours=2))
    assert "free-ai" not in _excluded_providers(key)  # cached with the exception
    response = client_for(personas.owner).post(f"/a/acme/exceptions/{exception.pk}/revoke/")
    assert response.status_code == 302
    assert "free-ai" in _excluded_providers(key)
    event = AuditEvent.objects.get(action="exception.revoked")
    assert event.actor == personas.owner and event.before["provider"] == "free-ai"


def test_revoking_twice_changes_and_audits_once(client_for, personas, catalog):
    exception = _create(personas, until=timezone.now() + timedelta(hours=2))
    client = client_for(personas.owner)
    client.post(f"/a/acme/exceptions/{exception.pk}/revoke/")
    client.post(f"/a/acme/exceptions/{exception.pk}/revoke/")
    assert AuditEvent.objects.filter(action="exception.revoked").count() == 1


# --- Expiry and the warning, from the beat task ------------------------------------------------


def test_the_expiry_task_runs_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-exceptions"]
    assert entry == {
        "task": "dashboard.tasks.expire_exceptions",
        "schedule": timedelta(minutes=5),
    }


def test_an_exception_expires_on_time_audited_and_told_to_every_member(
    personas, catalog, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False):
        exception = _create(personas, until=START + timedelta(days=2))
    with time_machine.travel(START + timedelta(days=2) - timedelta(minutes=1), tick=False):
        expire_exceptions.delay()
        assert ProviderException.objects.get().expired_at is None
    mail.outbox.clear()
    moment = START + timedelta(days=2, minutes=4)
    with (
        time_machine.travel(moment, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        expire_exceptions.delay()
    exception.refresh_from_db()
    assert exception.expired_at == moment
    event = AuditEvent.objects.get(action="exception.expired")
    assert event.account == personas.account and event.actor_label == "system"
    told = Notification.objects.filter(kind=Notification.Kind.EXCEPTION_EXPIRED)
    assert sorted(n.user.email for n in told) == [
        "admin@acme.test",
        "member@acme.test",
        "owner@acme.test",
    ]
    assert sorted(m.to[0] for m in mail.outbox) == [
        "admin@acme.test",
        "member@acme.test",
        "owner@acme.test",
    ]
    assert "free-ai" in mail.outbox[0].subject


def test_an_exception_is_expired_and_told_once_however_often_the_task_runs(personas, catalog):
    with time_machine.travel(START, tick=False):
        _create(personas, until=START + timedelta(hours=1))
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        assert exceptions.expire_due() == 1
        assert exceptions.expire_due() == 0
        expire_exceptions.delay()
    assert AuditEvent.objects.filter(action="exception.expired").count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.EXCEPTION_EXPIRED).count() == 3


def test_a_worker_that_finds_the_exception_already_claimed_does_nothing(personas, catalog):
    exception = _create(personas, until=timezone.now() - timedelta(seconds=1))
    # Another worker claims it between this worker's query and its own claim.
    assert exceptions._claim(exception, "expired_at", timezone.now())
    assert exceptions._expire(exception, timezone.now()) is False
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(action="exception.expired").exists()


def test_a_revoked_exception_does_not_expire_later(personas, catalog):
    exception = _create(personas, until=timezone.now() + timedelta(hours=1))
    exceptions.revoke_exception(exception)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert exceptions.expire_due() == 0
    assert not Notification.objects.exists()


def test_an_expired_exception_no_longer_readmits_the_provider(personas, catalog, excluding, key):
    with time_machine.travel(START, tick=False):
        _create(personas, until=START + timedelta(hours=3))
        assert "free-ai" not in _excluded_providers(key)  # cached while it lasts
        assert "acme/chat@free-ai" in _eligible(key)
    with time_machine.travel(START + timedelta(hours=3, minutes=1), tick=False):
        expire_exceptions.delay()
        assert "free-ai" in _excluded_providers(key)
        assert "acme/chat@free-ai" not in _eligible(key)


def test_members_are_warned_once_a_day_before_expiry(
    personas, catalog, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False):
        exception = _create(personas, until=START + timedelta(days=3))
    warnings = Notification.objects.filter(kind=Notification.Kind.EXCEPTION_EXPIRING)
    with time_machine.travel(START + timedelta(days=1, hours=23), tick=False):
        expire_exceptions.delay()
    assert not warnings.exists()
    with (
        time_machine.travel(START + timedelta(days=2, minutes=3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        expire_exceptions.delay()
    assert warnings.count() == 3 and len(mail.outbox) == 3
    for hours in (1, 12, 23):
        with time_machine.travel(START + timedelta(days=2, hours=hours), tick=False):
            expire_exceptions.delay()
    assert warnings.count() == 3
    exception.refresh_from_db()
    assert exception.warned_at == START + timedelta(days=2, minutes=3)
    assert exception.expired_at is None


def test_an_exception_that_is_already_over_is_not_warned_about(personas, catalog):
    with time_machine.travel(START, tick=False):
        _create(personas, until=START + timedelta(days=2))
    with time_machine.travel(START + timedelta(days=3), tick=False):
        expire_exceptions.delay()
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == {Notification.Kind.EXCEPTION_EXPIRED}


def test_only_the_accounts_own_members_are_told(personas, catalog):
    with time_machine.travel(START, tick=False):
        _create(personas, until=START + timedelta(hours=1))
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        expire_exceptions.delay()
    assert not Notification.objects.filter(user=personas.outsider).exists()
