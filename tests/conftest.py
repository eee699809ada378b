"""Shared fixtures: personas, per-worker Redis cache isolation, and network blocking.

When DATABASE_URL / REDIS_URL are set (as CI sets them), tests run on PostgreSQL and Redis;
otherwise on the embedded default.
"""

import os
import socket

import pytest
from hypothesis import settings as hypothesis_settings

# Timing limits make property tests flaky on a loaded machine; they test laws, not speed.
hypothesis_settings.register_profile("console", deadline=None)
hypothesis_settings.load_profile("console")


def _worker_cache_url() -> str | None:
    """Each xdist worker gets its own Redis database for the cache, so clearing it is safe."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db = 10 + int(worker.removeprefix("gw") or 0) % 6
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(autouse=True)
def _fresh_cache_and_fast_hashing(settings):
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if url := _worker_cache_url():
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    from core.hotcache import hot, misses

    cache.clear()
    hot.clear()
    misses.clear()
    yield
    cache.clear()
    hot.clear()
    misses.clear()


_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and "/" not in host:
        raise OSError(f"network blocked in tests: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch):
    """Tests may reach this machine's own services only; the internet is never touched."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


class Personas:
    """An account with an owner, an admin and a member; an outsider with an account of their
    own; and a privacy-team reviewer."""

    PASSWORD = "correct horse battery staple"

    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from dashboard.models import Account, Membership, Role

        users = get_user_model().objects
        make = lambda email: users.create_user(email, email, self.PASSWORD)  # noqa: E731
        self.account = Account.objects.create(slug="acme", name="Acme")
        self.other_account = Account.objects.create(slug="globex", name="Globex")
        self.owner, self.admin = make("owner@acme.test"), make("admin@acme.test")
        self.member, self.outsider = make("member@acme.test"), make("outsider@globex.test")
        self.reviewer = make("reviewer@anyapi.test")
        for user, role in [
            (self.owner, Role.OWNER),
            (self.admin, Role.ADMIN),
            (self.member, Role.MEMBER),
        ]:
            Membership.objects.create(account=self.account, user=user, role=role)
        Membership.objects.create(account=self.other_account, user=self.outsider, role=Role.OWNER)
        team, _ = Group.objects.get_or_create(name="privacy-team")
        self.reviewer.groups.add(team)


@pytest.fixture
def personas(db):
    return Personas()


@pytest.fixture
def client_for(client):
    """`client_for(user)`: a test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture(scope="session", autouse=True)
def _test_flush_may_empty_the_audit_log():
    """Between transactional tests Django empties every table with one TRUNCATE, which the audit
    log refuses on PostgreSQL (dashboard migration 0007) unless the transaction allows it."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        allow = ["SET LOCAL console.allow_audit_truncate = 'on';"]
        return allow + statements if statements else statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def _tasks_run_inline():
    """Tasks run in the test's own process unless a test starts a real worker (integration
    tests), so no test leaves messages in a broker nobody reads."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_catalog_snapshot():
    """The compiled catalog is per process; tests must not see one another's."""
    from catalog.policy import snapshot

    snapshot.forget()
    yield
    snapshot.forget()


@pytest.fixture(autouse=True)
def _fresh_usage_memory():
    """Ingest remembers route ids and existing partitions per process; a test's rollback
    removes both, so no test may inherit another's memory of them."""
    from usage import ingest, partitions

    ingest.forget_routes()
    partitions.forget()
    yield
    ingest.forget_routes()
    partitions.forget()


@pytest.fixture
def small_catalog(db):
    from catalog.catalog_file import parse_catalog
    from catalog.loader import Loader
    from catalog.policy import snapshot
    from tests.catalog.conftest import SMALL_CATALOG

    Loader().load(parse_catalog(SMALL_CATALOG))
    snapshot.forget()
    return SMALL_CATALOG
