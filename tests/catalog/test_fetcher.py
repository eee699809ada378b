"""The safe fetcher against a real local HTTP server.

The server listens on 127.0.0.1, so every test that means to reach it allows that address (or
a fake name that resolves to it) and its port explicitly; everything else must be refused.
"""

import gzip
import queue
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from catalog.refresh import fetcher
from catalog.refresh.fetcher import DEFAULT_USER_AGENT, FetchError, FetchPolicy, fetch
from catalog.refresh.normalize import ExtractionError, normalize_json

POLICY_PAGE = (
    b"<html><body><main><h1>API data policy</h1><p>We never train.</p></main></body></html>"
)
TWENTY_MB = 20 * 1024 * 1024
CHUNK = b"x" * 65536


# --- the local server ----------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class LocalServer:
    """A threaded HTTP(S) server on 127.0.0.1 whose routes each test can add to or replace."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.routes: dict[str, Callable] = {}
        self.seen: list[Seen] = []
        self.sni_names: list[str] = []
        self.released = threading.Event()
        self._outcomes: queue.Queue = queue.Queue()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.sni_names.append(name)
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        # A short poll keeps shutdown() (and so every test's teardown) quick.
        serve = lambda: self._httpd.serve_forever(poll_interval=0.02)  # noqa: E731
        self._thread = threading.Thread(target=serve, daemon=True)

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def route(self, path: str):
        def register(handler):
            self.routes[path] = handler
            return handler

        return register

    def outcome(self, path: str, timeout: float = 5.0) -> str:
        """How the handler for `path` ended: 'completed', or 'aborted' when the client hung up."""
        while True:
            seen_path, outcome = self._outcomes.get(timeout=timeout)
            if seen_path == path:
                return outcome

    def start(self):
        self._thread.start()

    def stop(self):
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        app = self.server.app
        path = urlsplit(self.path).path
        app.seen.append(Seen(path, {k.lower(): v for k, v in self.headers.items()}))
        handler = app.routes.get(path, lambda request: reply(request, 404, b"not found"))
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            app._outcomes.put((path, "aborted"))
        else:
            app._outcomes.put((path, "completed"))

    def log_message(self, format, *args):
        pass


def reply(request, status=200, body=b"", *, content_type="text/html; charset=utf-8", **headers):
    request.send_response(status)
    if content_type:
        request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        request.send_header(name.replace("_", "-"), value)
    request.end_headers()
    request.wfile.write(body)


def stream(request, total: int, *, declare_length: bool):
    request.send_response(200)
    request.send_header("Content-Type", "text/html")
    if declare_length:
        request.send_header("Content-Length", str(total))
    request.end_headers()
    for _ in range(total // len(CHUNK)):
        request.wfile.write(CHUNK)


def redirect(location: str, status: int = 302):
    return lambda request: reply(request, status, content_type=None, Location=location)


def _standard_routes(server: LocalServer) -> None:
    changes = iter(range(1_000_000))

    @server.route("/policy")
    def policy_page(request):
        reply(request, 200, POLICY_PAGE, ETag='"p1"')

    @server.route("/changing")
    def changing(request):
        reply(request, 200, f"<p>Revision {next(changes)}</p>".encode())

    @server.route("/etag")
    def etag(request):
        if request.headers.get("If-None-Match") == '"v1"':
            reply(request, 304, content_type=None, ETag='"v1"')
        else:
            reply(
                request,
                200,
                POLICY_PAGE,
                ETag='"v1"',
                Last_Modified="Tue, 03 Mar 2026 10:00:00 GMT",
            )

    @server.route("/hang")
    def hang(request):
        server.released.wait(5)
        reply(request, 200, POLICY_PAGE)

    @server.route("/drip")
    def drip(request):
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.end_headers()
        while not server.released.wait(0.05):
            request.wfile.write(b"x")
            request.wfile.flush()

    server.routes["/error/500"] = lambda request: reply(request, 500, b"boom")
    server.routes["/error/503"] = lambda request: reply(request, 503, b"busy", Retry_After="30")
    server.routes["/slow-down"] = lambda request: reply(request, 429, b"", Retry_After="120")
    server.routes["/huge"] = lambda request: stream(request, TWENTY_MB, declare_length=True)
    server.routes["/huge-unsized"] = lambda request: stream(
        request, TWENTY_MB, declare_length=False
    )
    server.routes["/image.png"] = lambda request: reply(
        request, 200, b"\x89PNG", content_type="image/png"
    )
    server.routes["/malformed.json"] = lambda request: reply(
        request, 200, b'{"provider": "acme-ai", "policy": {', content_type="application/json"
    )
    server.routes["/to-loopback"] = redirect(server.url("/policy"))
    server.routes["/to-metadata"] = redirect("http://169.254.169.254/latest/meta-data/")
    for hop in range(1, 6):
        server.routes[f"/chain/{hop}"] = redirect(f"/chain/{hop - 1}", 301 if hop % 2 else 307)
    server.routes["/chain/0"] = server.routes["/policy"]


@pytest.fixture
def server():
    local = LocalServer()
    _standard_routes(local)
    local.start()
    yield local
    local.stop()


def reachable(server: LocalServer, **changes) -> FetchPolicy:
    """A policy that may reach `server`: its address allowed, its port open, short timeouts."""
    settings = {
        "allow_private_hosts": {"127.0.0.1"},
        "allowed_ports": {server.port},
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 5.0,
    }
    return FetchPolicy(**(settings | changes))


# --- DNS and connection spies --------------------------------------------------------------


class FakeDNS:
    """Answers for made-up names, one list of addresses per successive lookup (the last repeats);
    everything else (the IP literals the HTTP client resolves) goes to the real resolver."""

    def __init__(self, real):
        self._real = real
        self._answers: dict[str, list] = {}
        self.lookups: list[str] = []

    def answer(self, host: str, *answers):
        self._answers[host] = list(answers)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self._answers:
            return self._real(host, port, family, type, proto, flags)
        self.lookups.append(host)
        answers = self._answers[host]
        current = answers[min(self.lookups.count(host), len(answers)) - 1]
        if isinstance(current, Exception):
            raise current
        return [_address_info(address, port) for address in current]


def _address_info(address: str, port: int):
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(fetcher.socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket tried to connect to (the conftest still blocks non-loopback)."""
    attempts = []
    blocking_connect = socket.socket.connect

    def recording_connect(sock, address):
        attempts.append(tuple(address[:2]))
        return blocking_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return attempts


# --- fetching ------------------------------------------------------------------------------


def test_a_policy_page_is_fetched_with_its_hash_size_and_kept_headers(server):
    result = fetch(server.url("/policy"), policy=reachable(server))

    assert result.status == 200
    assert result.body == POLICY_PAGE
    assert result.size == len(POLICY_PAGE)
    assert len(result.content_hash) == 64
    assert result.headers == {
        "content-type": "text/html; charset=utf-8",
        "content-length": str(len(POLICY_PAGE)),
        "etag": '"p1"',
    }
    assert result.final_url == server.url("/policy")
    assert result.redirects == []
    assert not result.not_modified


def test_the_fetcher_identifies_itself_and_asks_only_for_allowed_types(server):
    fetch(server.url("/policy"), policy=reachable(server))

    headers = server.seen[-1].headers
    assert headers["user-agent"] == DEFAULT_USER_AGENT
    assert set(headers["accept"].split(", ")) == fetcher.DEFAULT_CONTENT_TYPES
    assert "if-none-match" not in headers


def test_a_page_that_changes_between_runs_gets_a_new_hash(server):
    first = fetch(server.url("/changing"), policy=reachable(server))
    second = fetch(server.url("/changing"), policy=reachable(server))

    assert first.body != second.body
    assert first.content_hash != second.content_hash


def test_an_unchanged_page_keeps_its_hash(server):
    first = fetch(server.url("/policy"), policy=reachable(server))
    second = fetch(server.url("/policy"), policy=reachable(server))

    assert first.content_hash == second.content_hash


def test_a_matching_etag_comes_back_not_modified_with_an_empty_body(server):
    first = fetch(server.url("/etag"), policy=reachable(server))
    second = fetch(server.url("/etag"), policy=reachable(server), etag=first.headers["etag"])

    assert server.seen[-1].headers["if-none-match"] == '"v1"'
    assert second.not_modified
    assert second.status == 304
    assert second.body == b""
    assert second.size == 0
    assert second.headers["etag"] == '"v1"'


def test_last_modified_is_sent_back_as_if_modified_since(server):
    first = fetch(server.url("/etag"), policy=reachable(server))
    fetch(
        server.url("/etag"), policy=reachable(server), last_modified=first.headers["last-modified"]
    )

    assert server.seen[-1].headers["if-modified-since"] == "Tue, 03 Mar 2026 10:00:00 GMT"


def test_a_server_that_hangs_past_the_read_timeout_times_out(server):
    started = time.monotonic()
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/hang"), policy=reachable(server, read_timeout=0.3))

    assert refusal.value.kind == "timeout"
    assert time.monotonic() - started < 2


def test_a_body_that_keeps_dripping_is_cut_at_the_total_timeout(server):
    started = time.monotonic()
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/drip"), policy=reachable(server, read_timeout=1.0, total_timeout=0.5))

    assert refusal.value.kind == "timeout"
    assert 0.5 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_raises_http_status_with_the_status(server, status):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url(f"/error/{status}"), policy=reachable(server))

    assert refusal.value.kind == "http_status"
    assert refusal.value.status == status


def test_a_503_passes_its_retry_after_on(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/error/503"), policy=reachable(server))

    assert refusal.value.retry_after == 30


def test_a_429_raises_rate_limited_with_retry_after_in_seconds(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/slow-down"), policy=reachable(server))

    assert refusal.value.kind == "rate_limited"
    assert refusal.value.status == 429
    assert refusal.value.retry_after == 120


def test_a_429_with_an_http_date_retry_after_is_converted_to_seconds(server):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    server.routes["/slow-down"] = lambda request: reply(request, 429, Retry_After=later)

    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/slow-down"), policy=reachable(server))

    assert refusal.value.kind == "rate_limited"
    assert 85 <= refusal.value.retry_after <= 90


NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        (" 7 ", 7),
        ("Tue, 03 Mar 2026 10:01:30 GMT", 90),
        ("Tue, 03 Mar 2026 09:00:00 GMT", 0),
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    assert fetcher._retry_after_seconds(header, now=NOW) == seconds


def test_a_body_declared_larger_than_the_cap_is_refused_before_reading_it(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/huge"), policy=reachable(server))

    assert refusal.value.kind == "too_large"
    assert "Content-Length" in refusal.value.message
    assert server.outcome("/huge") == "aborted"


def test_an_undeclared_body_is_cut_off_as_soon_as_it_passes_the_cap(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/huge-unsized"), policy=reachable(server))

    assert refusal.value.kind == "too_large"
    assert str(5 * 1024 * 1024) in refusal.value.message
    assert server.outcome("/huge-unsized") == "aborted"


def test_the_byte_cap_is_configurable(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/policy"), policy=reachable(server, max_bytes=10))

    assert refusal.value.kind == "too_large"


def test_a_content_type_outside_the_allowlist_is_refused(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/image.png"), policy=reachable(server))

    assert refusal.value.kind == "content_type"
    assert "image/png" in refusal.value.message


def test_malformed_json_is_fetched_but_fails_normalization(server):
    result = fetch(server.url("/malformed.json"), policy=reachable(server))

    assert result.headers["content-type"] == "application/json"
    with pytest.raises(ExtractionError, match="malformed JSON"):
        normalize_json(result.body)


def test_a_closed_port_raises_connect(server):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    with pytest.raises(FetchError) as refusal:
        fetch(f"http://127.0.0.1:{port}/", policy=reachable(server, allowed_ports={port}))

    assert refusal.value.kind == "connect"


# --- refusals before any connection --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/policy", "file:///etc/passwd", "gopher://example.com/", "not a url"],
)
def test_only_http_and_https_urls_are_fetched(url, connections):
    with pytest.raises(FetchError) as refusal:
        fetch(url, policy=FetchPolicy())

    assert refusal.value.kind == "scheme"
    assert connections == []


def test_a_port_other_than_80_or_443_is_refused_unless_allowed(server, connections):
    policy = reachable(server, allowed_ports=set())

    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/policy"), policy=policy)

    assert refusal.value.kind == "port"
    assert connections == []


def test_loopback_is_refused_when_no_host_is_allowed(server, connections):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/policy"), policy=reachable(server, allow_private_hosts=set()))

    assert refusal.value.kind == "blocked_address"
    assert "127.0.0.1" in refusal.value.message
    assert connections == []


def test_an_allowed_host_name_is_matched_exactly_and_case_insensitively(server):
    by_name = reachable(server, allow_private_hosts={"LocalHost."})

    assert fetch(server.url("/policy", host="localhost"), policy=by_name).status == 200
    with pytest.raises(FetchError, match="blocked_address"):
        fetch(server.url("/policy"), policy=by_name)


def test_the_allowed_hosts_setting_is_normalized_from_a_plain_list():
    policy = FetchPolicy(allow_private_hosts=[" Policy.Example ", ""], allowed_ports=[8080])

    assert policy.allow_private_hosts == frozenset({"policy.example"})
    assert policy.allowed_ports == frozenset({8080})


def test_a_redirect_to_loopback_is_refused_unless_that_host_is_allowed(server):
    start = server.url("/to-loopback", host="localhost")
    only_localhost = reachable(server, allow_private_hosts={"localhost"})

    with pytest.raises(FetchError) as refusal:
        fetch(start, policy=only_localhost)
    assert refusal.value.kind == "blocked_address"

    both = reachable(server, allow_private_hosts={"localhost", "127.0.0.1"})
    result = fetch(start, policy=both)
    assert result.final_url == server.url("/policy")
    assert result.redirects == [start]


def test_a_redirect_to_the_metadata_address_is_refused_even_when_allowed(server, connections):
    policy = reachable(server, allow_private_hosts={"127.0.0.1", "169.254.169.254"})

    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/to-metadata"), policy=policy)

    assert refusal.value.kind == "blocked_address"
    assert "metadata" in refusal.value.message
    assert connections == [("127.0.0.1", server.port)]


def test_up_to_three_redirects_are_followed_and_reported(server):
    result = fetch(server.url("/chain/3"), policy=reachable(server))

    assert result.status == 200
    assert result.final_url == server.url("/chain/0")
    assert result.redirects == [server.url(f"/chain/{hop}") for hop in (3, 2, 1)]


def test_a_chain_of_more_than_three_redirects_is_refused(server):
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/chain/4"), policy=reachable(server))

    assert refusal.value.kind == "redirect_limit"
    assert [seen.path for seen in server.seen] == ["/chain/4", "/chain/3", "/chain/2", "/chain/1"]


def test_the_redirect_limit_is_configurable(server):
    with pytest.raises(FetchError, match="redirect_limit"):
        fetch(server.url("/chain/1"), policy=reachable(server, max_redirects=0))


# --- DNS -----------------------------------------------------------------------------------

BLOCKED_ANSWERS = [
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.10.10",
    "100.64.1.1",
    "0.0.0.0",  # noqa: S104 -- an answer to refuse, not an address to bind
    "240.0.0.1",
    "224.0.0.1",
    "192.0.2.1",
    "::1",
    "::",
    "fd00::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "64:ff9b::a00:1",
    # IPv6 forms judged by the IPv4 address they carry, and the deprecated site-local range.
    "::127.0.0.1",  # IPv4-compatible loopback
    "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT) 127.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64 10.0.0.1
    "2002:7f00:1::1",  # 6to4 through 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 through the metadata address
    "fec0::1",  # site-local
    "169.254.169.254",
    "100.100.100.200",
    "fd00:ec2::254",
]


@pytest.mark.parametrize("address", BLOCKED_ANSWERS)
def test_a_name_resolving_to_a_non_public_address_is_refused_before_connecting(
    address, dns, connections
):
    dns.answer("policy.example", [address])

    with pytest.raises(FetchError) as refusal:
        fetch("https://policy.example/terms", policy=FetchPolicy())

    assert refusal.value.kind == "blocked_address"
    assert connections == []


def test_one_private_answer_among_public_ones_is_enough_to_refuse(dns, connections):
    dns.answer("policy.example", ["93.184.215.14", "10.0.0.5"])

    with pytest.raises(FetchError, match="blocked_address: policy.example resolves to 10.0.0.5"):
        fetch("https://policy.example/terms", policy=FetchPolicy())
    assert connections == []


@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"])
def test_metadata_addresses_are_refused_even_for_an_allowed_host(address, dns, connections):
    dns.answer("policy.example", [address])
    policy = FetchPolicy(allow_private_hosts={"policy.example"})

    with pytest.raises(FetchError, match="metadata"):
        fetch("http://policy.example/", policy=policy)
    assert connections == []


def test_an_unresolvable_name_raises_dns(dns, connections):
    dns.answer("gone.example", socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    with pytest.raises(FetchError) as refusal:
        fetch("https://gone.example/", policy=FetchPolicy())

    assert refusal.value.kind == "dns"
    assert connections == []


def test_the_fetcher_connects_only_to_the_address_it_vetted(dns, connections, server):
    """DNS rebinding: the second answer points at loopback, but there is no second lookup."""
    dns.answer("policy.example", ["93.184.215.14"], ["127.0.0.1"])

    with pytest.raises(FetchError) as refusal:
        fetch("http://policy.example/policy", policy=FetchPolicy(connect_timeout=1.0))

    assert refusal.value.kind == "connect"  # the test network blocks the public address
    assert dns.lookups == ["policy.example"]
    assert connections == [("93.184.215.14", 80)]
    assert server.seen == []


def test_a_pinned_fetch_keeps_the_real_host_name_in_the_host_header(dns, connections, server):
    dns.answer("policy.example", ["127.0.0.1"], ["10.9.9.9"])
    policy = reachable(server, allow_private_hosts={"policy.example"})

    result = fetch(server.url("/policy", host="policy.example"), policy=policy)

    assert result.final_url == server.url("/policy", host="policy.example")
    assert server.seen[-1].headers["host"] == f"policy.example:{server.port}"
    assert dns.lookups == ["policy.example"]
    assert connections == [("127.0.0.1", server.port)]


def test_an_unreachable_vetted_address_falls_back_to_the_next_one(dns, connections, server):
    dns.answer("policy.example", ["127.0.0.2", "127.0.0.1"])
    policy = reachable(server, allow_private_hosts={"policy.example"})

    result = fetch(server.url("/policy", host="policy.example"), policy=policy)

    assert result.status == 200
    assert connections == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


# --- TLS to the vetted address -------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for policy.test, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
            *("ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=policy.test"),
            *("-addext", "subjectAltName=DNS:policy.test"),
            *("-addext", "keyUsage=critical,digitalSignature,keyCertSign"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    local = LocalServer(tls=context)
    _standard_routes(local)
    local.start()
    yield local
    local.stop()


def trusting(server, certificate, host, **changes) -> FetchPolicy:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    return reachable(server, allow_private_hosts={host}, tls_context=context, **changes)


def test_tls_is_verified_for_the_real_host_name_while_connecting_to_the_vetted_address(
    tls_server, certificate, dns, connections
):
    dns.answer("policy.test", ["127.0.0.1"], ["10.9.9.9"])
    url = tls_server.url("/policy", host="policy.test", scheme="https")

    result = fetch(url, policy=trusting(tls_server, certificate, "policy.test"))

    assert result.body == POLICY_PAGE
    assert tls_server.sni_names == ["policy.test"]
    assert tls_server.seen[-1].headers["host"] == f"policy.test:{tls_server.port}"
    assert connections == [("127.0.0.1", tls_server.port)]


def test_a_certificate_for_another_name_is_refused(tls_server, certificate, dns):
    dns.answer("other.test", ["127.0.0.1"])
    url = tls_server.url("/policy", host="other.test", scheme="https")

    with pytest.raises(FetchError) as refusal:
        fetch(url, policy=trusting(tls_server, certificate, "other.test"))

    assert refusal.value.kind == "connect"
    assert "certificate" in refusal.value.message.lower()
    assert tls_server.seen == []


def test_certificates_are_verified_by_default(tls_server, dns):
    dns.answer("policy.test", ["127.0.0.1"])
    url = tls_server.url("/policy", host="policy.test", scheme="https")

    with pytest.raises(FetchError, match="connect: .*CERTIFICATE_VERIFY_FAILED"):
        fetch(url, policy=reachable(tls_server, allow_private_hosts={"policy.test"}))


# --- hostile responses ---------------------------------------------------------------------


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def test_a_gzip_page_is_decoded(server):
    @server.route("/gzip")
    def gzipped(request):
        reply(request, 200, _gzip(POLICY_PAGE), Content_Encoding="gzip")

    assert fetch(server.url("/gzip"), policy=reachable(server)).body == POLICY_PAGE


def test_stacked_content_encodings_are_refused(server):
    bomb = _gzip(_gzip(b"\0" * 50_000_000))  # a few kilobytes on the wire

    @server.route("/gzip-gzip")
    def stacked(request):
        reply(request, 200, bomb, Content_Encoding="gzip, gzip")

    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/gzip-gzip"), policy=reachable(server))

    assert refusal.value.kind == "encoding" and len(bomb) < 100_000


def test_an_unknown_content_encoding_is_refused(server):
    @server.route("/br")
    def brotli(request):
        reply(request, 200, b"\x0b\x01\x80", Content_Encoding="br")

    with pytest.raises(FetchError, match="encoding"):
        fetch(server.url("/br"), policy=reachable(server))


def test_a_compressed_body_is_capped_while_it_is_inflated(server):
    bomb = _gzip(b"\0" * 200_000_000)

    @server.route("/bomb")
    def inflating(request):
        reply(request, 200, bomb, Content_Encoding="gzip")

    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as refusal:
            fetch(server.url("/bomb"), policy=reachable(server, max_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refusal.value.kind == "too_large"
    assert peak < 20_000_000  # far from the 200 MB the body inflates to


def test_headers_dripped_a_byte_at_a_time_are_cut_at_the_total_deadline(server):
    @server.route("/drip")
    def drip(request):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"a" * 500:
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            time.sleep(0.05)

    started = time.monotonic()
    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/drip"), policy=reachable(server, read_timeout=1.0, total_timeout=1.0))

    assert refusal.value.kind == "timeout"
    assert time.monotonic() - started < 2.0  # each byte came well within the read timeout


@pytest.mark.parametrize("address", ["::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:7f00:1"])
def test_an_ipv6_form_of_the_local_server_is_refused_before_it_is_reached(
    address, dns, connections, server
):
    dns.answer("policy.example", [address])
    policy = FetchPolicy(allowed_ports=frozenset({server.port}), connect_timeout=1.0)

    with pytest.raises(FetchError) as refusal:
        fetch(server.url("/policy", host="policy.example"), policy=policy)

    assert refusal.value.kind == "blocked_address"
    assert connections == [] and server.seen == []


def test_deeply_nested_json_fails_normalization_instead_of_crashing(server):
    @server.route("/deep.json")
    def deep(request):
        reply(request, 200, b"[" * 200_000, content_type="application/json")

    result = fetch(server.url("/deep.json"), policy=reachable(server))

    with pytest.raises(ExtractionError, match="nested deeper"):
        normalize_json(result.body)
