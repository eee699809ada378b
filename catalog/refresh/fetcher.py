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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

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
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
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
    redirect_limit, too_large, content_type, timeout, http_status, rate_limited, connect
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

    def timeout(self, policy: FetchPolicy) -> httpx.Timeout:
        left = self.remaining()
        connect, read = min(policy.connect_timeout, left), min(policy.read_timeout, left)
        return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _request_headers(policy, etag, last_modified) -> dict[str, str]:
    headers = {
        "User-Agent": policy.user_agent,
        "Accept": ", ".join(sorted(policy.allowed_content_types)),
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
    with httpx.Client(verify=tls, trust_env=False) as client, _transport_errors(url):
        response = _send_to_first_reachable(client, url, headers, addresses, timeout)
        try:
            yield response
        finally:
            response.close()


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
    address = _embedded_ipv4(address) or address
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    # is_global is False for private, loopback, link-local, shared (CGNAT), unique-local,
    # reserved, unspecified and documentation ranges; multicast is "global" and needs its own test.
    if not address.is_global or address.is_multicast:
        return "not a public address"
    return None


def _embedded_ipv4(address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped or NAT64 IPv6 address."""
    if address.version == 4:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


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
    """The decoded body, abandoned as soon as it passes max_bytes (decoded, so a small
    compressed body cannot expand past the cap either) or the total deadline."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            message = f"body exceeds {policy.max_bytes} bytes"
            raise FetchError("too_large", message, url=str(url))
        deadline.remaining()
        chunks.append(chunk)
    return b"".join(chunks)
