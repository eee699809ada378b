"""The safe policy fetcher: what it fetched is turned into text by `normalize`.

No Django here: the glue builds a `FetchPolicy` from settings and calls `fetch`.

`fetch` resolves each host once, refuses non-public addresses (unless the host is explicitly
allowed) and cloud metadata addresses (always), then connects to the vetted address itself while
keeping the real host name for the Host header, TLS SNI and certificate verification — so a second
DNS answer can never send the request somewhere else. Redirects are followed here, one vetted hop
at a time.
"""

import hashlib
import ipaddress
import math
import socket
import ssl
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

import httpcore
import httpx

DEFAULT_USER_AGENT = "AnyAPI-PolicyWatcher/1.0 (+privacy team)"
DEFAULT_CONTENT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "text/plain", "application/json"}
)

# 169.254.169.254: AWS, GCP, Azure, OCI; fd00:ec2::254: AWS over IPv6; 100.100.100.200: Alibaba;
# 169.254.170.2: AWS ECS task credentials; 192.0.0.192: Oracle Cloud's legacy endpoint.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "169.254.170.2",
        "192.0.0.192",
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated, but still routed by some stacks
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT, RFC 6145
_DEFAULT_PORTS = frozenset({80, 443})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_KEPT_HEADERS = ("content-type", "etag", "last-modified", "retry-after", "content-length")


@dataclass(frozen=True)
class FetchPolicy:
    """Everything `fetch` may do. Host names and sets are normalized on creation, so the glue can
    pass `settings.FETCH_ALLOW_PRIVATE_HOSTS` as it is."""

    allow_private_hosts: frozenset[str] = frozenset()
    allowed_ports: frozenset[int] = frozenset()
    max_redirects: int = 3
    max_bytes: int = 5 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    allowed_content_types: frozenset[str] = DEFAULT_CONTENT_TYPES
    user_agent: str = DEFAULT_USER_AGENT
    # None trusts the usual CA bundle; a context is for private CAs (and the TLS tests).
    tls_context: ssl.SSLContext | None = None

    def __post_init__(self):
        hosts = frozenset(_host_key(host) for host in self.allow_private_hosts if host.strip())
        types = frozenset(kind.strip().lower() for kind in self.allowed_content_types)
        object.__setattr__(self, "allow_private_hosts", hosts)
        object.__setattr__(self, "allowed_ports", frozenset(self.allowed_ports))
        object.__setattr__(self, "allowed_content_types", types)


@dataclass(frozen=True)
class FetchResult:
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool
    content_hash: str
    size: int
    elapsed_ms: int
    # The URLs that answered with a redirect, in order; empty when the first URL answered.
    redirects: list[str] = field(default_factory=list)


class FetchError(Exception):
    """A refused or failed fetch. `kind` is one of: scheme, port, blocked_address, dns,
    redirect_limit, too_large, content_type, encoding (stacked, unknown or undecodable
    Content-Encoding), timeout, http_status, rate_limited, connect
    (no connection, or the exchange failed: TLS, protocol or content decoding). `status` is set
    for http_status and rate_limited, `retry_after` (seconds) when the server sent one."""

    def __init__(self, kind, message, *, url=None, status=None, retry_after=None):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.url = kind, message, url
        self.status, self.retry_after = status, retry_after


# --- fetching ------------------------------------------------------------------------------


def fetch(url, *, policy: FetchPolicy, etag=None, last_modified=None) -> FetchResult:
    """GET `url` under `policy`, following at most `policy.max_redirects` vetted redirects.

    The total timeout is checked before every hop and between body chunks; a single stalled
    read is cut by the read timeout, so the total can be overrun by at most one read timeout.
    DNS resolution (the system resolver) is not covered by any timeout.
    """
    started = time.monotonic()
    deadline = _Deadline(started + policy.total_timeout)
    tls = policy.tls_context or _default_tls_context()
    headers = _request_headers(policy, etag, last_modified)
    current, redirects = _checked_url(url, policy), []
    while True:
        with _pinned_response(current, headers, policy, tls, deadline) as response:
            target = _redirect_target(response, current)
            if target is None:
                return _result(response, current, redirects, policy, deadline, started)
        redirects.append(str(current))
        if len(redirects) > policy.max_redirects:
            chain = " -> ".join(redirects)
            raise FetchError(
                "redirect_limit", f"more than {policy.max_redirects}: {chain}", url=url
            )
        current = _checked_url(target, policy)


@lru_cache(maxsize=1)
def _default_tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~70 ms; one verifying context serves every fetch.
    return httpx.create_ssl_context()


class _Deadline:
    def __init__(self, at: float):
        self._at = at

    def remaining(self) -> float:
        left = self._at - time.monotonic()
        if left <= 0:
            raise FetchError("timeout", "total time limit exceeded")
        return left

    def clamp(self, timeout: float | None, error=httpcore.ReadTimeout) -> float:
        """`timeout`, shortened to what is left of the fetch; past the deadline, `error`."""
        left = self._at - time.monotonic()
        if left <= 0:
            raise error("total time limit exceeded")
        return left if timeout is None else min(timeout, left)

    def timeout(self, policy: FetchPolicy) -> httpx.Timeout:
        left = self.remaining()
        connect, read = min(policy.connect_timeout, left), min(policy.read_timeout, left)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _request_headers(policy, etag, last_modified) -> dict[str, str]:
    headers = {
        "User-Agent": policy.user_agent,
        "Accept": ", ".join(sorted(policy.allowed_content_types)),
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _checked_url(url, policy: FetchPolicy) -> httpx.URL:
    """The URL as httpx.URL when its scheme and port are allowed; the address is checked later,
    at connection time, because that is when it is resolved."""
    try:
        parsed = httpx.URL(str(url))
    except httpx.InvalidURL as exc:
        raise FetchError("scheme", f"not a valid URL: {exc}", url=str(url)) from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise FetchError(
            "scheme", f"only http(s) URLs with a host are fetched: {url}", url=str(url)
        )
    if _port_of(parsed) not in _DEFAULT_PORTS | policy.allowed_ports:
        raise FetchError("port", f"port {_port_of(parsed)} is not allowed", url=str(url))
    return parsed


def _port_of(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _host_key(host: str) -> str:
    return host.strip().lower().rstrip(".")


@contextmanager
def _pinned_response(url, headers, policy, tls, deadline) -> Iterator[httpx.Response]:
    """A streamed response from one of the vetted addresses of `url`'s host.

    A fresh client per hop: a pooled connection is keyed by IP, so reusing one across a redirect
    to another host on the same IP would skip that host's certificate check.
    """
    addresses = _vetted_addresses(url, policy)
    timeout = deadline.timeout(policy)
    transport = _deadline_transport(tls, deadline)
    client = httpx.Client(transport=transport, trust_env=False)
    with client, _transport_errors(url):
        response = _send_to_first_reachable(client, url, headers, addresses, timeout)
        try:
            yield response
        finally:
            response.close()


def _deadline_transport(tls: ssl.SSLContext, deadline: "_Deadline") -> httpx.HTTPTransport:
    """httpx's transport over sockets whose every read and write is cut at the fetch's deadline:
    httpx's own timeouts are per read, so a server dripping its headers a byte at a time could
    hold a fetch for as long as it likes."""
    transport = httpx.HTTPTransport(verify=tls, trust_env=False)
    # httpx (pinned) builds its pool without a way to pass a network backend; this is its pool
    # with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=tls, network_backend=_DeadlineBackend(deadline)
    )
    return transport


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: "_Deadline"):
        self._deadline, self._backend = deadline, httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._backend.connect_tcp(
            host, port, self._deadline.clamp(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: "_Deadline"):
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        wrapped = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _DeadlineStream(wrapped, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


def _send_to_first_reachable(client, url, headers, addresses, timeout) -> httpx.Response:
    error = None
    for address in addresses:
        request = client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": url.raw_host.decode("ascii")},
            timeout=timeout,
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            error = exc
    raise error


@contextmanager
def _transport_errors(url: httpx.URL):
    try:
        yield
    except httpx.TimeoutException as exc:
        message = f"{type(exc).__name__} talking to {url.host}"
        raise FetchError("timeout", message, url=str(url)) from exc
    except httpx.HTTPError as exc:  # transport, TLS, protocol or content-decoding failures
        message = f"{type(exc).__name__} talking to {url.host}: {exc}"
        raise FetchError("connect", message, url=str(url)) from exc


# --- address vetting -----------------------------------------------------------------------


def _vetted_addresses(url: httpx.URL, policy: FetchPolicy) -> list[str]:
    """Resolve the host exactly once and return its addresses, or refuse if any one is blocked:
    a name that resolves to one public and one private address is as dangerous as a private one."""
    host = url.raw_host.decode("ascii")
    addresses = _resolve(host, _port_of(url), url)
    allow_private = _host_key(host) in policy.allow_private_hosts
    for address in addresses:
        if reason := _refusal(ipaddress.ip_address(address), allow_private):
            message = f"{host} resolves to {address}, {reason}"
            raise FetchError("blocked_address", message, url=str(url))
    return addresses


def _resolve(host: str, port: int, url: httpx.URL) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError("dns", f"cannot resolve {host}: {exc}", url=str(url)) from None
    addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    if not addresses:
        raise FetchError("dns", f"{host} has no addresses", url=str(url))
    return addresses


def _refusal(address, allow_private: bool) -> str | None:
    """Why `address` may not be fetched from, judging an IPv6 address that carries an IPv4 one
    by the IPv4 address it carries."""
    judged = [address, *_embedded_ipv4(address)]
    if any(candidate in METADATA_ADDRESSES for candidate in judged):
        return "a cloud metadata address"
    if allow_private:
        return None
    if any(not _is_public(candidate) for candidate in judged):
        return "not a public address"
    return None


def _is_public(address) -> bool:
    # is_global is False for private, loopback, link-local, shared (CGNAT), unique-local,
    # reserved, unspecified and documentation ranges; multicast is "global" and needs its own
    # test, and so does the deprecated site-local fec0::/10, which ipaddress deems global.
    site_local = address.version == 6 and address.is_site_local
    return address.is_global and not address.is_multicast and not site_local


def _embedded_ipv4(address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated
    (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4
    (2002::/16) and both ends of Teredo (2001::/32)."""
    if address.version == 4:
        return []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address in _IPV4_TRANSLATED or any(address in net for net in _NAT64):
        return [low32]
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1, judged as themselves
        return [low32]
    if address.sixtofour:
        return [address.sixtofour]
    if address.teredo:
        return list(address.teredo)
    return []


# --- responses -----------------------------------------------------------------------------


def _redirect_target(response: httpx.Response, current: httpx.URL) -> str | None:
    if response.status_code not in _REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        message = f"HTTP {response.status_code} without a Location"
        raise FetchError("http_status", message, url=str(current), status=response.status_code)
    try:
        return str(current.join(location))
    except httpx.InvalidURL:
        raise FetchError("scheme", f"unusable redirect {location!r}", url=str(current)) from None


def _result(response, url, redirects, policy, deadline, started) -> FetchResult:
    not_modified = response.status_code == 304
    body = b"" if not_modified else _accepted_body(response, url, policy, deadline)
    return FetchResult(
        final_url=str(url),
        status=response.status_code,
        headers=_kept_headers(response),
        body=body,
        not_modified=not_modified,
        content_hash=hashlib.sha256(body).hexdigest(),
        size=len(body),
        elapsed_ms=round((time.monotonic() - started) * 1000),
        redirects=redirects,
    )


def _kept_headers(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}


def _accepted_body(response, url, policy, deadline) -> bytes:
    _refuse_error_status(response, url)
    _refuse_content_type(response, url, policy)
    _refuse_declared_length(response, url, policy)
    return _read_capped(response, url, policy, deadline)


def _refuse_error_status(response: httpx.Response, url) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = _retry_after_seconds(response.headers.get("retry-after"))
    kind = "rate_limited" if status == 429 else "http_status"
    raise FetchError(kind, f"HTTP {status}", url=str(url), status=status, retry_after=retry_after)


def _retry_after_seconds(value: str | None, now: datetime | None = None) -> int | None:
    """Retry-After as seconds from now: either delay-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0, math.ceil(seconds))


def _refuse_content_type(response: httpx.Response, url, policy: FetchPolicy) -> None:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in policy.allowed_content_types:
        shown = media_type or "no content type"
        raise FetchError("content_type", f"{shown} is not an allowed type", url=str(url))


def _refuse_declared_length(response: httpx.Response, url, policy: FetchPolicy) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        message = f"Content-Length {declared} exceeds {policy.max_bytes} bytes"
        raise FetchError("too_large", message, url=str(url))


def _read_capped(response: httpx.Response, url, policy: FetchPolicy, deadline) -> bytes:
    """The decoded body, abandoned as soon as it passes max_bytes or the total deadline.

    The raw bytes are decompressed here, never more than one byte past the cap at a time: a few
    kilobytes of nested gzip would otherwise inflate to gigabytes inside a single chunk before
    any size check could see them."""
    decoder = _decoder(response, url)
    chunks, size = [], 0
    for raw in response.iter_raw():
        deadline.remaining()
        for chunk in decoder.feed(raw, policy.max_bytes - size + 1):
            size += len(chunk)
            if size > policy.max_bytes:
                message = f"body exceeds {policy.max_bytes} bytes"
                raise FetchError("too_large", message, url=str(url))
            chunks.append(chunk)
    chunks.append(decoder.flush())
    return b"".join(chunks)


_ZLIB_WINDOWS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": 32 + zlib.MAX_WBITS,  # zlib-wrapped, as RFC 9110 means it (or gzip, detected)
}


def _decoder(response: httpx.Response, url):
    """One Content-Encoding at most, gzip or deflate: a stack of them ("gzip, gzip") only ever
    serves to multiply a bomb, and no policy page needs one."""
    codings = [
        coding.strip().lower()
        for coding in response.headers.get("content-encoding", "").split(",")
        if coding.strip() and coding.strip().lower() != "identity"
    ]
    if len(codings) > 1:
        raise FetchError("encoding", f"stacked content encodings {codings} refused", url=str(url))
    if not codings:
        return _Identity()
    if codings[0] not in _ZLIB_WINDOWS:
        raise FetchError("encoding", f"content encoding {codings[0]!r} refused", url=str(url))
    return _Inflater(_ZLIB_WINDOWS[codings[0]], url)


class _Identity:
    def feed(self, raw: bytes, limit: int) -> Iterator[bytes]:
        yield raw

    def flush(self) -> bytes:
        return b""


class _Inflater:
    """zlib decompression in pieces of at most `limit` bytes."""

    def __init__(self, window: int, url):
        self._inflate, self._url = zlib.decompressobj(window), url

    def feed(self, raw: bytes, limit: int) -> Iterator[bytes]:
        data = raw
        while data:
            try:
                piece = self._inflate.decompress(data, max(1, limit))
            except zlib.error as exc:
                message = f"undecodable body: {exc}"
                raise FetchError("encoding", message, url=str(self._url)) from None
            yield piece
            if not piece:
                return
            data = self._inflate.unconsumed_tail

    def flush(self) -> bytes:
        return self._inflate.flush()
