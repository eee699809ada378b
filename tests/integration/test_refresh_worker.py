"""A "refresh now" through Redis to a real Celery worker that fetches a real local page."""

import pytest

from catalog.models import PolicyChange, PolicySource, PolicyVersion, Provider, RefreshRun
from tests.catalog.local_server import LocalServer
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("worker")]

POLICY_PAGE = """<html><body><nav>Home</nav>
<main id="policy"><h1>API data usage</h1>
<p>We do not train on API data.</p>
<p>API inputs are deleted after 30 days.</p></main></body></html>"""


@pytest.fixture
def server():
    with LocalServer() as running:
        running.page("/policy", POLICY_PAGE)
        yield running


@pytest.fixture
def refresh_worker(transactional_db, small_catalog, server, monkeypatch, request):
    """The worker is another process: the fetcher's settings reach it only through its
    environment, which `celery_worker_process` copies from ours when it starts the worker."""
    monkeypatch.setenv("FETCH_ALLOW_PRIVATE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("FETCH_ALLOWED_PORTS", str(server.port))
    monkeypatch.setenv("REFRESH_BACKOFF_SECONDS", "0")
    return request.getfixturevalue("celery_worker_process")


def _refresh_through_the_worker(source) -> RefreshRun:
    from catalog.tasks import refresh_run

    run = RefreshRun.objects.create(total=1)
    refresh_run.delay(run.pk, [source.pk])
    finished = wait_for(
        lambda: RefreshRun.objects.filter(pk=run.pk, finished_at__isnull=False).first(),
        timeout=60,
    )
    assert finished, "the worker did not finish the refresh run within 60 s"
    return finished


def test_a_refresh_run_goes_through_a_real_worker_and_proposes_one_change(refresh_worker, server):
    source = PolicySource.objects.create(
        provider=Provider.objects.get(slug="month-ai"), url=server.url("/policy"), select="#policy"
    )
    catalog_before = list(PolicyVersion.objects.values_list("pk", "status", "superseded_at"))

    first = _refresh_through_the_worker(source)
    source.refresh_from_db()
    assert (first.done, first.failed) == (1, 0)
    assert "deleted after 30 days" in source.baseline.text

    server.page("/policy", POLICY_PAGE.replace("30 days", "90 days"))
    second = _refresh_through_the_worker(source)
    assert (second.done, second.changed, second.failed) == (1, 1, 0)
    change = PolicyChange.objects.get()
    assert change.source == source and change.status == PolicyChange.Status.OPEN
    assert [
        "replace",
        "API inputs are deleted after 30 days.",
        "API inputs are deleted after 90 days.",
    ] in change.diff
    assert list(PolicyVersion.objects.values_list("pk", "status", "superseded_at")) == (
        catalog_before
    )
