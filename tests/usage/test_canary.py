"""Canaries: content sent to the usage API, in any shape, is refused and leaves no trace.

Each case carries a unique canary string where a prompt or response could hide. After the
request, the canary must be in no table, cache entry, log record, task argument or response.
"""

import logging

import pytest
from celery.app.task import Task

from tests.canary import everything_cached, everything_stored
from tests.usage.conftest import event_json
from usage.events import ALLOWED_FIELDS

CANARY = "CANARY-7f3a the quarterly forecast says we will miss the target"
CONTENT_FIELDS = ["messages", "prompt", "completion", "content", "input", "output"]


def _forbidden_field_cases():
    for name in CONTENT_FIELDS + ["system", "response", "choices", "text"]:
        yield f"field {name}", {"events": [event_json(**{name: CANARY})]}
    yield "chat messages", {"events": [event_json(messages=[{"role": "user", "content": CANARY}])]}
    yield "top-level prompt", {"events": [event_json()], "prompt": CANARY}
    yield "content as a field name", {"events": [event_json(**{CANARY: 1})]}
    yield "second event", {"events": [event_json(), event_json(output={"text": CANARY})]}


def _smuggled_cases():
    for field in sorted(ALLOWED_FIELDS):
        yield f"{field} as text", {"events": [event_json(**{field: CANARY})]}
        yield f"{field} as an object", {"events": [event_json(**{field: {"content": CANARY}})]}
        yield f"{field} as a list", {"events": [event_json(**{field: [CANARY]})]}
    yield "event as a string", {"events": [CANARY]}
    yield "events as an object", {"events": {"content": CANARY}}
    yield "body as a list", [CANARY]


CASES = dict(_forbidden_field_cases()) | dict(_smuggled_cases())


@pytest.fixture
def task_arguments(monkeypatch):
    sent = []
    original = Task.apply_async

    def recording(self, args=None, kwargs=None, **options):
        sent.append(repr((self.name, args, kwargs)))
        return original(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    return sent


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_content_is_refused_and_leaves_no_trace(personas, post_usage, body, caplog, task_arguments):
    caplog.set_level(logging.DEBUG)

    response = post_usage(body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"forbidden_field", "invalid_request"}
    assert CANARY not in response.content.decode()
    assert CANARY not in everything_stored()
    assert CANARY not in everything_cached()
    assert CANARY not in caplog.text
    assert all(CANARY not in sent for sent in task_arguments)


@pytest.mark.parametrize("field", CONTENT_FIELDS)
def test_every_content_field_is_forbidden_by_name(personas, post_usage, field):
    response = post_usage({"events": [event_json(**{field: "x"})]})

    assert response.json()["error"]["code"] == "forbidden_field"
    assert response.json()["error"]["field"] == field


def test_an_accepted_batch_stores_only_its_metadata(personas, post_usage):
    """The positive case: what is stored is exactly the allowlisted values."""
    event = event_json(model="acme/chat-1", provider="safe-ai")

    assert post_usage({"events": [event]}).status_code == 200

    stored = everything_stored()
    assert "acme/chat-1" in stored
    assert CANARY not in stored
