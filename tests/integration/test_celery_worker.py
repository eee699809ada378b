import pytest

from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("worker")]


def test_a_task_goes_through_redis_to_a_real_worker_and_back(celery_worker_process):
    from dashboard.tasks import echo

    assert echo.delay("metadata only").get(timeout=30) == "metadata only"


def test_a_live_worker_makes_healthz_report_it(celery_worker_process, client):
    def worker_ok():
        return client.get("/healthz").json()["checks"]["worker"]["ok"]

    assert wait_for(worker_ok, timeout=30)
