"""Fault injection: gunicorn serving the real app, with a cuttable TCP proxy in front of
PostgreSQL and one in front of Redis (tests/integration/faultproxy.py).

Each case prints what the gateway would have seen: requests sent, answered, errors by kind,
and events sent vs stored.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.db.models import Sum

from dashboard.models import Account, ApiKey, PrivacyDefaults
from tests.integration.faultproxy import FaultProxy
from usage.models import DailyUsage, HourlyUsage, UsageEvent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("faults"),
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"),
        reason="cuts the path to a real PostgreSQL and Redis (CI runs them)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 4  # this suite's own Redis database (research/PROTOCOL.md)
MODEL, PROVIDER = "acme/chat", "safe-ai"


# --- The stack ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def proxies(transactional_db):
    db = connection.settings_dict
    redis_url = urlparse(os.environ["REDIS_URL"])
    pg = FaultProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    redis = FaultProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    import redis as redis_lib

    # A catalog version left in the cache by an earlier run would not match this test database.
    redis_lib.Redis(host=redis.target[0], port=redis.target[1], db=REDIS_DB).flushdb()
    yield pg, redis
    pg.close()
    redis.close()


class Web:
    def __init__(self, process, port, log_path):
        self.process, self.port, self.log_path = process, port, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def start_web(proxies, tmp_path):
    started = []

    def start() -> Web:
        pg, redis = proxies
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        port = _free_port()
        redis_url = f"redis://127.0.0.1:{redis.port}/{REDIS_DB}"
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}{password}@127.0.0.1:"
            f"{pg.port}/{db['NAME']}",
            "REDIS_URL": redis_url,
            "CACHE_URL": redis_url,
            "DEBUG": "0",
            "SECRET_KEY": "fault-injection-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "LOG_LEVEL": "WARNING",
        }
        log_path = tmp_path / f"gunicorn-{port}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
        )
        web = Web(process, port, log_path)
        started.append(web)
        _wait_until_answering(web)
        return web

    yield start
    for web in started:
        web.process.terminate()
        try:
            web.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            web.process.kill()


def _wait_until_answering(web: Web, timeout=90.0) -> None:
    """Until both workers have loaded the app and answer (200 or 503, whatever the database)."""
    deadline, answers = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and answers < 4:
        assert web.process.poll() is None, f"gunicorn stopped:\n{web.log()}"
        if isinstance(call(web, "GET", "/healthz", timeout=30)[0], int):
            answers += 1
        else:
            time.sleep(0.3)
    assert answers >= 4, f"gunicorn did not answer within {timeout} s:\n{web.log()}"


@pytest.fixture
def keys(transactional_db, small_catalog):
    account = Account.objects.create(slug="acme", name="Acme")
    PrivacyDefaults.objects.create(account=account, classification=None)
    return {
        "inference": ApiKey.issue(name="gateway", account=account)[1],
        "ingest": ApiKey.issue(name="ingest", kind=ApiKey.Kind.INGEST)[1],
    }


# --- The gateway's side -------------------------------------------------------------------------


def call(web: Web, method: str, path: str, body=None, key=None, timeout=15.0):
    """(kind, json body or None, headers): kind is the status code, or what went wrong."""
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        raw = response.read()
    except TimeoutError:
        return "timeout", None, {}
    except OSError as error:
        return type(error).__name__, None, {}
    finally:
        conn.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return response.status, parsed, dict(response.getheaders())


class Tally:
    def __init__(self):
        self.kinds = Counter()
        self.not_json = 0
        self._lock = threading.Lock()

    def add(self, kind, body) -> None:
        with self._lock:
            self.kinds[kind] += 1
            if isinstance(kind, int) and body is None:
                self.not_json += 1

    @property
    def sent(self) -> int:
        return sum(self.kinds.values())

    @property
    def answered(self) -> int:
        return sum(n for kind, n in self.kinds.items() if isinstance(kind, int))

    def ok(self) -> int:
        return self.kinds[200]

    def errors(self) -> dict:
        return {str(kind): n for kind, n in sorted(self.kinds.items(), key=str) if kind != 200}


def resolve(web, keys):
    request = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
    return call(web, "POST", "/api/v1/policy/resolve", request, keys["inference"])


def _events(n: int) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "id": str(uuid.uuid4()),
            "account": "acme",
            "timestamp": (now - timedelta(seconds=i)).isoformat(),
            "model": MODEL,
            "provider": PROVIDER,
            "tokens_prompt": 10,
            "tokens_completion": 5,
            "latency_ms": 100 + i,
            "status": "ok",
            "cost_usd": "0.000100",
        }
        for i in range(n)
    ]


def deliver(web, keys, events, tally, attempts=60) -> bool:
    """Send one batch as the gateway does: the same body again until it is taken (ingest is
    idempotent, so a retry after an unclear answer counts each event once)."""
    for _ in range(attempts):
        kind, body, _ = call(
            web, "POST", "/api/v1/usage/events", {"events": events}, keys["ingest"]
        )
        tally.add(kind, body)
        if kind == 200:
            return True
        time.sleep(0.25)
    return False


@pytest.fixture
def report(capsys):
    """Prints a case's figures past pytest's capture: the closing note of a run quotes them."""

    def print_figures(name: str, **parts) -> None:
        with capsys.disabled():
            print(f"\n[fault] {name}:")
            for part, figures in parts.items():
                print(f"    {part}: {figures}")

    return print_figures


def stored() -> dict:
    count = UsageEvent.objects.filter(account__slug="acme").count()
    hourly = HourlyUsage.objects.aggregate(n=Sum("requests"))["n"] or 0
    daily = DailyUsage.objects.aggregate(n=Sum("requests"))["n"] or 0
    return {"raw": count, "hourly": hourly, "daily": daily}


# --- The faults ---------------------------------------------------------------------------------


def test_workers_boot_with_the_database_down_answer_503_and_serve_once_it_returns(
    proxies, start_web, keys, report
):
    pg, _ = proxies
    pg.cut()
    web = start_web()  # returns once the workers, booted against the cut database, answer
    assert web.process.poll() is None, web.log()

    down = Tally()
    for _ in range(20):
        kind, body, headers = resolve(web, keys)
        down.add(kind, body)
        assert kind == 503 and body["error"]["code"] == "unavailable", (kind, body)
        assert int(headers["Retry-After"]) > 0
    health, health_body, _ = call(web, "GET", "/healthz")
    assert (health, health_body["status"]) == (503, "degraded")

    pg.restore()
    back = Tally()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kind, body, _ = resolve(web, keys)
        back.add(kind, body)
        if kind == 200:
            break
        time.sleep(0.2)
    after = Tally()
    for _ in range(40):
        after.add(*resolve(web, keys)[:2])

    report(
        "database down at boot",
        while_down=f"sent {down.sent}, answered {down.answered}, errors {down.errors()}",
        recovering=f"sent {back.sent}, errors {back.errors()}",
        after_restore=f"sent {after.sent}, answered {after.answered}, ok {after.ok()}, "
        f"errors {after.errors()}",
        master_alive=web.process.poll() is None,
    )
    assert web.process.poll() is None, web.log()
    assert back.ok() == 1 and after.ok() == after.sent, (back.kinds, after.kinds, web.log())
    assert down.not_json == back.not_json == after.not_json == 0


def _load(
    web, keys, fault, *, resolvers=3, ingesters=2, batch=20, before=3.0, during=10.0, after=3.0
):
    """Resolve and ingest traffic for before + during + after seconds, with `fault` (cut,
    restore) applied in the middle; returns the tallies and the ids of every event sent."""
    stop = threading.Event()
    resolves, ingests = Tally(), Tally()
    sent_ids, undelivered = [], []
    lock = threading.Lock()

    def resolving():
        while not stop.is_set():
            resolves.add(*resolve(web, keys)[:2])

    def ingesting():
        while not stop.is_set():
            events = _events(batch)
            with lock:
                sent_ids.extend(e["id"] for e in events)
            if not deliver(web, keys, events, ingests):
                with lock:
                    undelivered.append(len(events))

    threads = [threading.Thread(target=resolving) for _ in range(resolvers)]
    threads += [threading.Thread(target=ingesting) for _ in range(ingesters)]
    for thread in threads:
        thread.start()
    cut, restore = fault
    time.sleep(before)
    cut()
    time.sleep(during)
    restore()
    time.sleep(after)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return resolves, ingests, sent_ids, undelivered


def test_redis_down_for_10_s_under_load_resolve_keeps_answering_and_ingest_stores_once(
    proxies, start_web, keys, report
):
    _, redis = proxies
    web = start_web()
    assert resolve(web, keys)[0] == 200

    resolves, ingests, sent_ids, undelivered = _load(
        web, keys, (redis.cut, redis.restore), during=10.0
    )

    counts = stored()
    report(
        "Redis down 10 s",
        resolve=f"sent {resolves.sent}, answered {resolves.answered}, ok {resolves.ok()} "
        f"({resolves.ok() / resolves.sent:.2%}), errors {resolves.errors()}",
        ingest=f"requests {ingests.sent}, answered {ingests.answered}, ok {ingests.ok()}, "
        f"errors {ingests.errors()}, not JSON {ingests.not_json}",
        events=f"sent {len(sent_ids)}, stored {counts['raw']} (hourly rollup "
        f"{counts['hourly']}, daily {counts['daily']})",
    )
    assert resolves.ok() >= 0.99 * resolves.sent
    assert ingests.not_json == 0 and resolves.not_json == 0
    assert not undelivered
    assert counts == {"raw": len(set(sent_ids)), "hourly": len(sent_ids), "daily": len(sent_ids)}


def test_the_database_cut_mid_ingest_leaves_nothing_half_written_and_nothing_doubled(
    proxies, start_web, keys, report
):
    pg, _ = proxies
    web = start_web()
    assert resolve(web, keys)[0] == 200

    resolves, ingests, sent_ids, undelivered = _load(
        web,
        keys,
        (pg.cut, pg.restore),
        resolvers=1,
        ingesters=3,
        batch=200,
        before=2.0,
        during=3.0,
        after=3.0,
    )

    counts = stored()
    report(
        "database cut mid-ingest (3 s)",
        ingest=f"requests {ingests.sent}, answered {ingests.answered}, ok {ingests.ok()}, "
        f"errors {ingests.errors()}, not JSON {ingests.not_json}",
        resolve=f"sent {resolves.sent}, answered {resolves.answered}, ok {resolves.ok()}, "
        f"errors {resolves.errors()}",
        events=f"sent {len(sent_ids)}, stored {counts['raw']} (hourly rollup "
        f"{counts['hourly']}, daily {counts['daily']})",
    )
    assert ingests.not_json == 0 and resolves.not_json == 0
    assert not undelivered
    assert set(ingests.kinds) - {200, 503} == set(), ingests.kinds
    assert counts == {"raw": len(set(sent_ids)), "hourly": len(sent_ids), "daily": len(sent_ids)}
