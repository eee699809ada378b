"""Policy refresh: 1,000 sources on 50 local hosts that each answer after 200 ms.

The hosts are 50 HTTP servers on 127.0.0.2 … 127.0.0.51 (all of 127/8 is loopback on Linux),
20 policy pages each, with an ETag and a 304 for a matching If-None-Match — every answer after a
200 ms sleep. They run in another process, so their threads don't take the GIL from the refresh.

The refresh runs here, in process, through `catalog.jobs.refresh_many`: what the `refresh_run`
and `refresh_due_sources` tasks run in a worker. Measured: the first full refresh (every source
gets its baseline), an unchanged re-run that every host answers with 304, the peak RSS of this
process as the worker's memory, and the first refresh of 100 sources with REFRESH_CONCURRENCY=1
as the sequential comparison.

The sources belong to the synthetic catalog's providers, one provider per host: a provider of
its own would make the other benchmarks rebuild that catalog (they reuse it only while it has
exactly its 100 providers), and a rebuild truncates providers, sources with them.

The settings are applied with `override_settings`, not the environment: run from
`python -m tests.bench`, Django is set up before this module learns the servers' ports.

    python -m tests.bench.bench_refresh
"""

import contextlib
import hashlib
import multiprocessing
import resource
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.bench import Result, failed, print_table, setup

TITLE = "policy refresh"
HOSTS = [f"127.0.0.{n}" for n in range(2, 52)]
PAGES_PER_HOST = 20
SOURCES = len(HOSTS) * PAGES_PER_HOST
ANSWER_DELAY = 0.2  # seconds, for every answer, 304s included
CONCURRENCY = 50
SEQUENTIAL_SOURCES = 100
FULL_TARGET = 30  # s
NOT_MODIFIED_TARGET = 10  # s
MEMORY_TARGET = 300  # MB
MB = 1_000_000
FULL_NAME = f"refresh of {SOURCES:,} sources, first (baselines)"
BENCH_URLS = "http://127.0.0."  # every bench source, and only those, starts so


def run() -> list[Result]:
    # Imported here, not at the top: they need Django configured, which `setup()` does first.
    from django.test import override_settings

    from tests.bench import synthetic

    synthetic.ensure_catalog()
    _reset_peak_rss()
    with PolicyHosts(HOSTS) as hosts:
        print(f"refresh: {SOURCES:,} pages on {HOSTS[0]} … {HOSTS[-1]}", flush=True)
        urls = hosts.urls()
        allowed = override_settings(
            FETCH_ALLOW_PRIVATE_HOSTS=HOSTS, FETCH_ALLOWED_PORTS=hosts.ports
        )
        try:
            with allowed:
                sequential = first_refresh(_spread(urls, SEQUENTIAL_SOURCES), concurrency=1)
                full = first_refresh(urls, CONCURRENCY)
                again = refresh(CONCURRENCY, "unchanged re-run")
        finally:
            _delete_bench_sources()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    speedup = full.per_second / sequential.per_second
    print(
        f"refresh: {full.per_second:.1f} sources/s with {CONCURRENCY} hosts at once, "
        f"{sequential.per_second:.2f}/s one at a time: {speedup:.1f}× faster; "
        f"peak RSS {peak_mb:.0f} MB",
        flush=True,
    )
    return [
        Result(FULL_NAME, full.wall, "s", FULL_TARGET, at_most=True),
        Result("refresh, unchanged re-run (304s)", again.wall, "s", NOT_MODIFIED_TARGET, True),
        Result("refresh worker memory (peak RSS)", peak_mb, "MB", MEMORY_TARGET, at_most=True),
        Result(
            "refresh failures (all three runs)",
            full.failed + again.failed + sequential.failed,
            "errors",
            0,
            at_most=True,
        ),
        Result("refresh CPU per source, first", full.cpu_ms_per_source, "ms"),
        Result("refresh CPU per source, 304 re-run", again.cpu_ms_per_source, "ms"),
        Result(f"refresh of {sequential.sources}, REFRESH_CONCURRENCY=1", sequential.wall, "s"),
        Result("refresh speed-up vs sequential (sources/s)", speedup, "×"),
    ]


def failed_results() -> list[Result]:
    return [
        failed(FULL_NAME, "s", FULL_TARGET, at_most=True),
        failed("refresh, unchanged re-run (304s)", "s", NOT_MODIFIED_TARGET, at_most=True),
        failed("refresh worker memory (peak RSS)", "MB", MEMORY_TARGET, at_most=True),
    ]


@dataclass(frozen=True)
class Refresh:
    sources: int
    wall: float  # seconds
    cpu: float  # seconds, every thread of this process
    counts: dict

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    @property
    def cpu_ms_per_source(self) -> float:
        return self.cpu * 1000 / self.sources

    @property
    def per_second(self) -> float:
        return self.sources / self.wall


def first_refresh(urls: list[str], concurrency: int) -> Refresh:
    _replace_sources(urls)
    return refresh(concurrency, f"first refresh of {len(urls):,}, concurrency {concurrency}")


def refresh(concurrency: int, label: str) -> Refresh:
    from django.test import override_settings

    from catalog.models import PolicySource
    from catalog.refresh.jobs import refresh_many

    sources = PolicySource.objects.filter(url__startswith=BENCH_URLS)
    started, started_cpu = time.perf_counter(), time.process_time()
    with override_settings(REFRESH_CONCURRENCY=concurrency):
        counts = refresh_many(sources)
    done = Refresh(
        len(sources), time.perf_counter() - started, time.process_time() - started_cpu, counts
    )
    print(
        f"refresh: {label}: {done.wall:.2f} s, CPU {done.cpu:.2f} s "
        f"({done.cpu_ms_per_source:.1f} ms per source); {counts}; fetches: {_outcomes()}",
        flush=True,
    )
    return done


def _replace_sources(urls: list[str]) -> None:
    """No baselines: the bench's sources are deleted and created again before each first run."""
    from catalog.models import PolicySource, Provider
    from catalog.refresh.jobs import host_of

    _delete_bench_sources()
    providers = list(Provider.objects.order_by("slug")[: len(HOSTS)])
    by_host = dict(zip(HOSTS, providers, strict=True))
    PolicySource.objects.bulk_create(
        PolicySource(provider=by_host[host_of(url)], url=url, select="main") for url in urls
    )


def _delete_bench_sources() -> None:
    from catalog.models import PolicySource, Snapshot

    PolicySource.objects.filter(url__startswith=BENCH_URLS).delete()
    # Stored once per body: left behind, they would spare the next run its snapshot writes.
    Snapshot.objects.filter(texts__isnull=True, fetch__isnull=True).delete()


def _outcomes() -> dict:
    from django.db.models import Count

    from catalog.models import Fetch

    rows = Fetch.objects.filter(source__url__startswith=BENCH_URLS).values("outcome")
    return {row["outcome"]: row["n"] for row in rows.annotate(n=Count("id")).order_by()}


def _spread(urls: list[str], count: int) -> list[str]:
    """`count` URLs taken evenly from every host."""
    return urls[:: len(urls) // count][:count]


def _reset_peak_rss() -> None:
    """Peak RSS is kept per process: start it afresh, so what an earlier benchmark in this
    process allocated is not reported as the refresh's."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


# --- The 50 hosts, in their own process -----------------------------------------------------


class PolicyHosts:
    """HTTP servers on `hosts`, one port each, served from a child process until exit."""

    def __init__(self, hosts: list[str]):
        context = multiprocessing.get_context("spawn")  # no copy of Django's open connections
        self.hosts = hosts
        self._stop = context.Event()
        self._addresses, child_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=serve, args=(hosts, child_end, self._stop), daemon=True
        )
        self.ports: list[int] = []

    def __enter__(self) -> "PolicyHosts":
        self._process.start()
        if not self._addresses.poll(30):
            raise RuntimeError("the policy hosts did not start within 30 s")
        addresses = self._addresses.recv()
        if isinstance(addresses, str):
            raise RuntimeError(f"the policy hosts did not start: {addresses}")
        self._by_host = dict(addresses)
        self.ports = sorted(set(self._by_host.values()))
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def urls(self) -> list[str]:
        return [
            f"http://{host}:{self._by_host[host]}/policy/{page}"
            for host in self.hosts
            for page in range(PAGES_PER_HOST)
        ]


def serve(hosts: list[str], addresses, stop) -> None:
    """The child process: start a server per host, report (host, port) pairs, wait for stop."""
    try:
        servers = [_server(n, host) for n, host in enumerate(hosts)]
    except OSError as exc:
        addresses.send(f"{type(exc).__name__}: {exc}")
        return
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    addresses.send([server.server_address[:2] for server in servers])
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()


def _server(n: int, host: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), PolicyPage)
    server.pages = {f"/policy/{page}": _page(n, page) for page in range(PAGES_PER_HOST)}
    return server


class PolicyPage(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        time.sleep(ANSWER_DELAY)
        body, etag = self.server.pages.get(self.path, (None, None))
        if body is None:
            self._answer(404, {}, b"")
        elif self.headers.get("If-None-Match") == etag:
            self._answer(304, {"ETag": etag}, b"")
        else:
            self._answer(200, {"ETag": etag, "Content-Type": "text/html; charset=utf-8"}, body)

    def _answer(self, status: int, headers: dict, body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


_CLAUSES = (
    "We do not use API inputs or outputs to train our models.",
    "API inputs and outputs are deleted after {days} days unless the law requires otherwise.",
    "Requests flagged by our safety systems may be kept for up to {days} days for review.",
    "Data is processed in the {region} region and is not transferred outside it.",
    "Customers may request zero data retention for eligible endpoints.",
    "Subprocessors are listed on our subprocessors page and notified 30 days ahead.",
    "We hold SOC 2 Type II and ISO 27001 certifications, renewed every year.",
    "Prompts are never published or shared with other customers.",
)


def _page(host_index: int, page: int) -> tuple[bytes, str]:
    """A policy page of about 6 KB, different on every host and path."""
    days = 7 + (host_index * PAGES_PER_HOST + page) % 90
    region = ("EU", "US", "APAC")[page % 3]
    clauses = [
        _CLAUSES[(s + page) % len(_CLAUSES)].format(days=days, region=region) for s in range(40)
    ]
    paragraphs = "\n".join(
        f"<h2>Section {s + 1}</h2><p>{clause} This applies to Provider {host_index} "
        f"product {page}.</p>"
        for s, clause in enumerate(clauses)
    )
    html = (
        f"<html><head><title>Provider {host_index} policy {page}</title></head><body>"
        f"<nav>Home · Pricing · Docs</nav><main><h1>Data usage policy {page}</h1>\n"
        f"{paragraphs}</main><footer>© Provider {host_index}</footer></body></html>"
    )
    body = html.encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:16]}"'


if __name__ == "__main__":
    setup()
    print_table(run())
