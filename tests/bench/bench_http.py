"""Over HTTP: POST /api/v1/policy/resolve through gunicorn, as deployed, on PostgreSQL and Redis,
against the floor of a bare Django JSON view served by the same server in the same run.

gunicorn runs with deploy/gunicorn.conf.py and 2 sync workers, on the production settings plus
one bench-only URL (`tests/bench/settings.py`, `urls.py`): `POST /bench/bare` goes through the
same middleware and parses and answers JSON, nothing more. The load comes from another process
(`load.py`: wrk) with an inference key and a mix of models and privacy blocks, the same bodies
for both. A short warm-up first lets each worker compile its snapshot; then the bare view and
resolve take turns (ROUNDS each), so a busy minute on a shared machine weighs on both.

Each sync worker serves one request at a time, so the default of 2 connections per worker keeps
each busy with one request queued; more connections only queue longer in the kernel.

After the small bodies, the same server and connections load 1 MiB multimodal chat requests (an
OpenAI-style image part as a base64 data URL beside the same policy blocks): resolve reads only
the policy fields, so its cost should be the body's transfer and one pass of the JSON parser.

    python -m tests.bench.bench_http
    BENCH_HTTP_SECONDS (30, per path)  BENCH_HTTP_CONNECTIONS (4)  BENCH_HTTP_WARMUP_SECONDS (3)
    BENCH_HTTP_LARGE_SECONDS (10)
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import (
    BARE_PATH,
    ROOT,
    Result,
    django_env,
    env_float,
    failed,
    print_table,
    setup,
)
from tests.bench.load import LoadStats, run_load

TITLE = "over HTTP"
RPS_TARGET = 1_000
P99_TARGET_MS = 20
SHARE_OF_BARE_TARGET = 0.60  # resolve throughput ÷ the bare view's
P99_OF_BARE_TARGET = 2.0  # resolve p99 ÷ the bare view's, at most
WORKERS = 2
PATH = "/api/v1/policy/resolve"
BODIES = 1_000
LARGE_BODY_BYTES = 1 << 20
LARGE_BODIES = 4
ROUNDS = 2


def run() -> list[Result]:
    # Imported here, not at the top: it needs Django configured, which `setup()` does first.
    from tests.bench import synthetic

    seconds = env_float("BENCH_HTTP_SECONDS", 30)
    connections = int(env_float("BENCH_HTTP_CONNECTIONS", 2 * WORKERS))
    warmup = env_float("BENCH_HTTP_WARMUP_SECONDS", 3)
    large_seconds = env_float("BENCH_HTTP_LARGE_SECONDS", 10)
    synthetic.ensure_catalog()
    secret = synthetic.issue_inference_key()
    bodies = synthetic.request_bodies(synthetic.providers_by_model(), BODIES, seed=4)
    bodies = [json.dumps(body) for body in bodies]
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
    with Gunicorn() as server:
        base = f"http://127.0.0.1:{server.port}"
        server.wait_until_answering(bodies[0], headers)
        run_load(base + PATH, bodies, headers, warmup, connections)
        run_load(base + BARE_PATH, bodies, headers, 1, connections)
        print(
            f"HTTP: {ROUNDS} rounds of {seconds / ROUNDS:.0f} s per path, bare view then "
            f"resolve, with {connections} connections…",
            flush=True,
        )
        rounds = {BARE_PATH: [], PATH: []}
        cpu = dict.fromkeys(rounds, 0.0)
        for _ in range(ROUNDS):
            for path in rounds:
                cpu_before = server.workers_cpu_seconds()
                found = run_load(base + path, bodies, headers, seconds / ROUNDS, connections)
                rounds[path].append(found)
                cpu[path] += server.workers_cpu_seconds() - cpu_before
        worker_rss = server.worker_rss_mb()
        large_bodies = [multimodal(body) for body in bodies[:LARGE_BODIES]]
        run_load(base + PATH, large_bodies, headers, warmup, connections)
        print(f"HTTP: loading 1 MiB bodies for {large_seconds:.0f} s…", flush=True)
        large = run_load(base + PATH, large_bodies, headers, large_seconds, connections)
        restarts = server.log_count("Autorestarting worker")
    bare, stats = combined(rounds[BARE_PATH]), combined(rounds[PATH])
    _print_stats("bare view", bare, 0)
    _print_stats("resolve", stats, restarts)
    cpu_ms = {path: _cpu_ms(cpu[path], combined(found)) for path, found in rounds.items()}
    _print_stats("1 MiB multimodal bodies", large, restarts)
    print(
        f"HTTP: gunicorn workers used {cpu_ms[PATH]:.2f} ms of CPU per resolve, "
        f"{cpu_ms[BARE_PATH]:.2f} ms per bare view: with a core each, {WORKERS} workers could "
        f"serve at most ~{WORKERS * 1000 / cpu_ms[PATH]:,.0f} resolves/s",
        flush=True,
    )
    return [
        Result(f"HTTP resolves/s ({WORKERS} gunicorn workers)", stats.per_second, "/s", RPS_TARGET),
        Result("bare Django JSON view/s, same server (floor)", bare.per_second, "/s"),
        Result(
            "HTTP resolve ÷ bare view throughput",
            stats.per_second / bare.per_second,
            "×",
            SHARE_OF_BARE_TARGET,
        ),
        Result("HTTP p50 latency", stats.p50_ms, "ms"),
        Result("HTTP p99 latency", stats.p99_ms, "ms", P99_TARGET_MS, at_most=True),
        Result("bare view p99 latency (floor)", bare.p99_ms, "ms"),
        Result(
            "HTTP p99 resolve ÷ bare view",
            stats.p99_ms / bare.p99_ms,
            "×",
            P99_OF_BARE_TARGET,
            at_most=True,
        ),
        Result("HTTP errors (not 2xx or 422)", stats.errors, "errors", 0, at_most=True),
        Result("HTTP resolves/s, 1 MiB multimodal body", large.per_second, "/s"),
        Result("HTTP p99 latency, 1 MiB multimodal body", large.p99_ms, "ms"),
        Result("HTTP errors, 1 MiB bodies", large.errors, "errors", 0, at_most=True),
        Result("gunicorn worker CPU per resolve (small bodies)", cpu_ms[PATH], "ms"),
        Result("gunicorn worker CPU per bare view", cpu_ms[BARE_PATH], "ms"),
        Result("gunicorn worker RSS after load (largest)", worker_rss, "MB"),
        Result("worker restarts during load (max_requests)", restarts, "restarts"),
    ]


def combined(rounds: list[LoadStats]) -> LoadStats:
    """The rounds as one run: counts and time added up, the worst round's latencies."""
    return LoadStats(
        tool=rounds[0].tool,
        seconds=sum(r.seconds for r in rounds),
        ok=sum(r.ok for r in rounds),
        unprocessable=sum(r.unprocessable for r in rounds),
        errors=sum(r.errors for r in rounds),
        p50_ms=max(r.p50_ms for r in rounds),
        p99_ms=max(r.p99_ms for r in rounds),
        max_ms=max(r.max_ms for r in rounds),
        error_sample="; ".join(r.error_sample for r in rounds if r.error_sample),
    )


def _cpu_ms(cpu_seconds: float, stats: LoadStats) -> float:
    return max(cpu_seconds, 0.01) * 1000 / max(1, stats.answered)  # clock ticks are 10 ms


def failed_results() -> list[Result]:
    return [
        failed(f"HTTP resolves/s ({WORKERS} gunicorn workers)", "/s", RPS_TARGET),
        failed("HTTP resolve ÷ bare view throughput", "×", SHARE_OF_BARE_TARGET),
        failed("HTTP p99 latency", "ms", P99_TARGET_MS, at_most=True),
        failed("HTTP p99 resolve ÷ bare view", "×", P99_OF_BARE_TARGET, at_most=True),
        failed("HTTP errors (not 2xx or 422)", "errors", 0, at_most=True),
    ]


def multimodal(body: str) -> str:
    """`body`'s policy blocks in a chat request of about 1 MiB: a question and an image."""
    request = json.loads(body)
    image = "A" * (LARGE_BODY_BYTES - len(body) - 200)  # base64 of zero bytes, near enough
    request["messages"] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What does this chart show?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}},
            ],
        }
    ]
    return json.dumps(request)


def _print_stats(label: str, stats, restarts: int) -> None:
    share = stats.unprocessable / stats.answered if stats.answered else 0
    print(
        f"HTTP {label}: {stats.per_second:,.0f}/s over {stats.seconds:.1f} s ({stats.tool}); "
        f"{stats.ok:,} × 2xx, {stats.unprocessable:,} × 422 ({share:.0%}), "
        f"{stats.errors} errors; latency p50 {stats.p50_ms:.2f} ms, p99 {stats.p99_ms:.2f} ms, "
        f"max {stats.max_ms:.1f} ms; {restarts} worker restarts",
        flush=True,
    )
    if stats.errors:
        print(f"{label} errors: {stats.error_sample}", flush=True)


class Gunicorn:
    """gunicorn as deployed, on a free port, stopped on exit whatever happened."""

    def __init__(self):
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log")  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        env = {
            **os.environ,
            **django_env(),
            "DJANGO_SETTINGS_MODULE": "tests.bench.settings",  # the project's, plus BARE_PATH
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(WORKERS),
        }
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py"]
        self.process = subprocess.Popen(
            [*command, "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a stuck worker can be killed too
        )
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._stop()
        if exc_type is not None:
            print(f"gunicorn log (last lines):\n{self.tail()}", file=sys.stderr)
        self.log.close()

    def _stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def wait_until_answering(self, body: str, headers: dict, timeout=60.0) -> None:
        """Until one resolve succeeds; anything but 200 or 422 then is a setup error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                status, text = _post(self.port, body, headers)
            except OSError:
                time.sleep(0.2)
                continue
            if status in (200, 422):
                return
            raise RuntimeError(f"resolve answered HTTP {status}: {text[:300]}")
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")

    def workers(self) -> list[int]:
        pid = self.process.pid
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]

    def worker_rss_mb(self) -> float:
        return max(map(_rss_mb, self.workers()), default=float("nan"))

    def workers_cpu_seconds(self) -> float:
        """CPU time of every worker so far; recycled ones count in the master's reaped children."""
        total = _cpu_seconds(self.process.pid, reaped_children=True)
        for worker in self.workers():
            with contextlib.suppress(FileNotFoundError):  # recycled since it was listed
                total += _cpu_seconds(worker)
        return total

    def log_count(self, text: str) -> int:
        self.log.seek(0)
        return sum(text in line for line in self.log)

    def tail(self, lines: int = 30) -> str:
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])


def _post(port: int, body: str, headers: dict) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", PATH, body.encode(), headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime, cutime, cstime = map(int, fields[11:15])  # proc(5): fields 14 to 17
    ticks = cutime + cstime if reaped_children else utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1_000_000
    return float("nan")


if __name__ == "__main__":
    setup()
    print_table(run())
