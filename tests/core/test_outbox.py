"""A task the broker refuses is neither lost nor the failure of the request that asked for it."""

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnreachable

from catalog.models import PolicySource, Provider, RefreshRun
from config.celery import app
from core import outbox
from core.models import OutboxTask

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(monkeypatch, settings):
    """A real (not eager) enqueue whose broker refuses until `broker.up = True`."""
    sent = []

    class Broker:
        up = False

    def send_task(name, args=None, **kwargs):
        if not Broker.up:
            raise BrokerUnreachable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append((name, list(args or ())))

    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(app, "send_task", send_task)
    Broker.sent = sent
    return Broker


@pytest.fixture
def source(small_catalog):
    return PolicySource.objects.create(
        provider=Provider.objects.get(slug="month-ai"), url="https://month.example/terms"
    )


def test_refresh_now_succeeds_and_keeps_the_task_while_the_broker_is_down(
    client_for, personas, source, broker
):
    response = client_for(personas.reviewer).post("/review/sources/refresh/")

    assert response.status_code == 302
    run = RefreshRun.objects.get()
    waiting = OutboxTask.objects.get()
    assert (waiting.task, waiting.args) == ("catalog.tasks.refresh_run", [run.pk, [source.pk]])
    assert broker.sent == []


def test_a_waiting_task_is_sent_once_the_broker_is_back(broker, personas):
    from dashboard.tasks import echo

    with transaction.atomic():
        outbox.enqueue(echo, "metadata only")
    assert OutboxTask.objects.count() == 1

    broker.up = True
    later = OutboxTask.objects.get().created + outbox.GRACE * 2
    assert outbox.send_waiting(now=later) == 1
    assert broker.sent == [("dashboard.tasks.echo", ["metadata only"])]
    assert not OutboxTask.objects.exists()


def test_a_task_the_broker_takes_leaves_nothing_in_the_outbox(broker):
    from dashboard.tasks import echo

    broker.up = True
    with transaction.atomic():
        outbox.enqueue(echo, "x")
    assert broker.sent == [("dashboard.tasks.echo", ["x"])]
    assert not OutboxTask.objects.exists()


def test_a_task_of_a_rolled_back_transaction_is_never_sent(broker):
    from dashboard.tasks import echo

    broker.up = True
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(echo, "x")
        raise RuntimeError
    assert broker.sent == [] and not OutboxTask.objects.exists()
