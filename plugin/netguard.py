"""The forum URL rule (INTERFACE.md) against server-side request forgery.

A forum URL is https://, or http:// only for a host listed in MENTORSHIP_ALLOWED_INTERNAL_HOSTS;
a host that resolves to a loopback, private, link-local, multicast, reserved or otherwise
non-global address is refused unless listed. `check_url` applies the rule when a URL is
entered. `guarded_session` applies it again on every new connection: it resolves the host
itself, checks every address, and connects to the checked address (so a later DNS answer
cannot move it), while the Host header and TLS (SNI, certificate) keep the URL's host name.

Built on urllib3's own extension points (a PoolManager's pool classes, a connection's
`_new_conn`) rather than a second HTTP library: both forum clients already use requests.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection, parse_url

SETTING = "MENTORSHIP_ALLOWED_INTERNAL_HOSTS"
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # far above any forum answer we ask for
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64's well-known prefix (RFC 6052) embeds the IPv4 address a gateway will reach.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(ValueError):
    """The forum URL rule refuses this URL or address; the message is one line."""


class AnswerTooLarge(requests.RequestException):
    """An answer's body is over the session's size cap; nothing of it was kept."""


def normal_host(host: str) -> str:
    """A host as urllib3 and urlsplit report it: lower case, IPv6 without brackets."""
    return host.strip().lower().removeprefix("[").removesuffix("]")


def _embedded(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def non_global_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address ("loopback", "private", ...), or None if it is."""
    for inner in _embedded(ip):
        reason = non_global_reason(inner)
        if reason:
            return reason
    kinds = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),  # is_global is True for some multicast ranges
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),  # e.g. 100.64.0.0/10, shared address space
    )
    return next((label for label, hit in kinds if hit), None)


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order, each once."""
    infos = socket.getaddrinfo(host, port, connection.allowed_gai_family(), socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int, allowed: frozenset[str]) -> list[str]:
    """`host`'s addresses, all of them public unless the host is listed; else Refused."""
    name = normal_host(host)
    addresses = resolve(name, port)
    if name in allowed:
        return addresses
    for address in addresses:
        reason = non_global_reason(ipaddress.ip_address(address))
        if reason:
            raise Refused(
                f"{name} resolves to {address}, a {reason} address, and is not listed in {SETTING}"
            )
    return addresses


def _url_parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL that every parser reads alike, else Refused."""
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise Refused("a URL must not contain spaces, control characters or backslashes")
    try:
        parts, host = urlsplit(url), normal_host(parse_url(url).host or "")
    except ValueError:  # urllib3's LocationParseError is a ValueError too
        raise Refused("the URL cannot be read") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("only http:// and https:// URLs with a host are allowed")
    if "@" in parts.netloc:
        raise Refused("a URL must not carry a user name or password")
    if not parts.hostname.isascii():
        raise Refused("write the host in its ASCII form (xn--...)")
    # requests connects to the host urllib3 reads: it must be the one checked here.
    if host != parts.hostname:
        raise Refused("the URL's host is ambiguous")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not a number from 0 to 65535") from None
    return parts.scheme, parts.hostname, port


def check_url(url: str, allowed: frozenset[str]) -> None:
    """Apply the forum URL rule when a URL is entered; Refused says why, in one line."""
    scheme, host, port = _url_parts(url)
    if scheme == "http" and host not in allowed:
        raise Refused(
            f"http:// is only for hosts listed in {SETTING} ({host} is not): use https://"
        )
    try:
        checked_addresses(host, port, allowed)
    except OSError:
        # Not resolvable now (e.g. set up before its DNS exists): nothing to refuse yet,
        # and every connection checks the addresses again.
        pass


class _Pinned:
    """A urllib3 connection that connects only to addresses checked by the rule."""

    allowed: frozenset[str]
    plain = True  # no TLS: http://, which the rule allows for listed hosts only

    def __init__(self, *args: Any, allowed_hosts: frozenset[str] = frozenset(), **kw: Any):
        self.allowed = allowed_hosts
        super().__init__(*args, **kw)

    def _new_conn(self) -> socket.socket:
        """Resolve, check, then connect to the checked address, never to the name again."""
        host: str = self._dns_host  # type: ignore[attr-defined]
        if self.plain and normal_host(host) not in self.allowed:
            raise Refused(f"http:// is only for hosts listed in {SETTING} ({host} is not)")
        try:
            addresses = checked_addresses(host, self.port, self.allowed)  # type: ignore[attr-defined]
        except socket.gaierror as exc:
            raise NameResolutionError(host, self, exc) from exc  # type: ignore[arg-type]
        return self._connect_any(addresses)

    def _connect_any(self, addresses: list[str]) -> socket.socket:
        """The first of `addresses` that accepts a connection, as urllib3 would report it."""
        error: OSError | None = None
        for address in addresses:
            try:
                sock = connection.create_connection(
                    (address, self.port),  # type: ignore[attr-defined]
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {address} timed out") from exc
            except OSError as exc:
                error = exc
                continue
            sys.audit("http.client.connect", self, address, self.port)  # type: ignore[attr-defined]
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]


class PinnedHTTPConnection(_Pinned, HTTPConnection):
    """Plain HTTP to a checked address (listed hosts only)."""


class PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    """HTTPS to a checked address; SNI and the certificate check use the URL's host name."""

    plain = False


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    """A PoolManager whose pools make pinned connections under one allow-list."""

    def __init__(self, allowed: frozenset[str], **kw: Any):
        super().__init__(**kw)
        self.allowed = allowed
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        """urllib3's pool, told the allow-list for the connections it makes."""
        pool = super()._new_pool(scheme, host, port, request_context)
        # Given to each connection, not to the pool key: urllib3's key has fixed fields.
        pool.conn_kw["allowed_hosts"] = self.allowed
        return pool


class GuardedAdapter(HTTPAdapter):
    """requests' adapter over pinned connections, no proxies, answers capped in size."""

    def __init__(self, allowed: frozenset[str], max_bytes: int = MAX_ANSWER_BYTES):
        self.allowed = allowed  # before super().__init__, which builds the pool manager
        self.max_bytes = max_bytes
        super().__init__()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **kw: Any
    ) -> None:
        """The pinned pool manager in place of urllib3's own."""
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _PinnedPoolManager(
            self.allowed, num_pools=connections, maxsize=maxsize, block=block, **kw
        )

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send directly (a proxy would resolve the host past our check), read capped."""
        # Every answer is streamed and read here under the cap, whatever `stream` asked.
        response = super().send(
            request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=None
        )
        response._content = read_capped(response, self.max_bytes)
        return response


def read_capped(response: requests.Response, limit: int) -> bytes:
    """The whole body, or AnswerTooLarge once it passes `limit` bytes (decoded)."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise AnswerTooLarge(f"the answer is {declared} bytes, over the cap of {limit}")
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            raise AnswerTooLarge(f"the answer is over the cap of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class GuardedSession(requests.Session):
    """A requests.Session that follows the forum URL rule and never follows a redirect."""

    def __init__(self, allowed: frozenset[str], max_bytes: int = MAX_ANSWER_BYTES):
        super().__init__()
        adapter = GuardedAdapter(allowed, max_bytes)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with redirects off whatever the caller asked: a 3xx is an answer to read."""
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


def guarded_session(allowed: frozenset[str], max_bytes: int = MAX_ANSWER_BYTES) -> requests.Session:
    """A session for talking to forums under the rule, with `allowed` listed hosts."""
    return GuardedSession(allowed, max_bytes)
