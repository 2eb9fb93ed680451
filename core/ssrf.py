"""SSRF guard for URLs that users hand us to fetch (trend sources, reference images, ...).

`check_public_url` accepts only plain `http(s)://host[:80|443]/...` URLs whose host is a public
address: IP literals and every address the name resolves to must be globally routable (no
private, loopback, link-local/cloud-metadata, multicast, reserved, unspecified or shared
100.64/10 space, also when wrapped as IPv4-mapped, NAT64 or 6to4 IPv6). Legacy IPv4 spellings
(`0x7f.1`, `2130706433`, `0177.0.0.1`, `127.1`) are refused outright: `ipaddress` does not parse
them, but `getaddrinfo` (inet_aton) and some clients do. Hosts in `allow_hosts` skip the address
and port checks; they exist for the local vendor emulators.

The returned URL is normalised (lower-case scheme, ASCII/IDNA host, default port dropped), so
fetch *that* string: it names exactly the host that was checked.

Validation-time resolution is only a first line. The name can resolve differently when the
fetcher connects (DNS rebinding, short TTLs) and redirects lead to new hosts, so the fetcher
must check the address it actually connects to: `guarded_transport()` does that for httpx by
resolving once per connection, checking every address and connecting to the checked IP (TLS
still verifies the hostname). Resolution here blocks: `PublicHttpUrl` runs `getaddrinfo` inside
pydantic validation, i.e. on the event loop when used in a FastAPI body model.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx
import idna
from pydantic import AfterValidator, Field

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str, int], list[str]]
AsyncResolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that only ever mean "this machine" or "the private network" (RFC 6761, 6762, 8375,
# and the `.internal` zone clouds use for metadata/VPC names).
_BLOCKED_NAMES = frozenset({"localhost"})
_BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_HEX_NUMBER = re.compile(r"0x[0-9a-f]*")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class UnsafeUrlError(ValueError):
    """A URL we refuse to fetch; `reason` says why in words safe to show the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"unsafe URL: {reason}")
        self.reason = reason


def check_public_url(
    url: str,
    *,
    allow_hosts: Collection[str] = (),
    resolve: Resolver | None = None,
) -> str:
    """Return the normalised `url` if it is safe to fetch, else raise `UnsafeUrlError`.

    `resolve(host, port)` returns the host's addresses (default: `socket.getaddrinfo`);
    every one of them must be public. Hosts in `allow_hosts` (exact, case-insensitive)
    are accepted on any port without address checks.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"URL is longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_CHARS.search(url) or any(ch.isspace() for ch in url):
        # Parsers disagree on these (WHATWG strips tabs/newlines, maps "\" to "/").
        raise UnsafeUrlError("URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError("URL could not be parsed") from exc
    scheme = parts.scheme
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrlError(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if "@" in parts.netloc:
        raise UnsafeUrlError("credentials in the URL (user:password@) are not allowed")
    if not parts.hostname:
        raise UnsafeUrlError("URL has no host")

    host, ip = _normalise_host(parts.hostname, bracketed=parts.netloc.startswith("["))
    host_in_url = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    default_port = DEFAULT_PORTS[scheme]
    port_in_url = "" if port is None or port == default_port else f":{port}"
    normalised = f"{scheme}://{host_in_url}{port_in_url}{parts.path or '/'}"
    if parts.query:
        normalised += f"?{parts.query}"
    if parts.fragment:
        normalised += f"#{parts.fragment}"
    _cross_check(normalised, scheme, host, port or default_port)

    if host in _normalise_allow_hosts(allow_hosts):
        return normalised
    if port not in (None, 80, 443):
        raise UnsafeUrlError(f"port {port} is not allowed; use 80 or 443")
    if ip is not None:
        problem = address_problem(ip)
        if problem:
            raise UnsafeUrlError(f"{ip} is a {problem} address")
        return normalised

    if host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES):
        raise UnsafeUrlError(f"host {host!r} is a local or internal name")
    if "." not in host:
        # Single labels are completed by resolver search domains: internal by construction.
        raise UnsafeUrlError(f"host {host!r} is not a fully qualified domain name")
    _check_addresses(host, (resolve or _system_resolve), port or default_port)
    return normalised


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address (e.g. "loopback"), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped if ip.ipv4_mapped is not None else ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:  # deprecated fec0::/10
        return "site-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


def _normalise_host(raw: str, *, bracketed: bool) -> tuple[str, IPAddress | None]:
    """ASCII, lower-case host without a trailing dot, and its address if it is an IP literal."""
    if bracketed:
        if "%" in raw:
            raise UnsafeUrlError("IPv6 zone identifiers are not allowed")
        try:
            ip6 = ipaddress.IPv6Address(raw)
        except ValueError as exc:
            raise UnsafeUrlError("invalid IPv6 address") from exc
        return ip6.compressed, ip6
    try:
        host = raw if raw.isascii() else idna.encode(raw, uts46=True).decode("ascii")
    except UnicodeError as exc:  # idna.IDNAError is one
        raise UnsafeUrlError("host is not a valid internationalised domain name") from exc
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsafeUrlError("host is not a valid domain name")
    last = labels[-1]
    if last.isdigit() or _HEX_NUMBER.fullmatch(last):
        # WHATWG "ends in a number": the host is an IPv4 address in some spelling.
        try:
            ip4 = ipaddress.IPv4Address(host)
        except ValueError as exc:
            raise UnsafeUrlError("IPv4 addresses must be written as four decimal parts") from exc
        return str(ip4), ip4
    return host, None


def _normalise_allow_hosts(hosts: Iterable[str]) -> frozenset[str]:
    return frozenset(_comparable_host(host) for host in hosts)


def _comparable_host(host: str) -> str:
    """Lower-case, no brackets or trailing dot, IPv6 compressed: for allow-list matching."""
    host = host.strip().lower().removeprefix("[").removesuffix("]").removesuffix(".")
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def _cross_check(url: str, scheme: str, host: str, port: int) -> None:
    """Refuse URLs that httpx (the fetcher) would read as another scheme, host or port."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeUrlError("URL could not be parsed") from exc
    seen = (parsed.scheme, parsed.raw_host.decode("ascii"), parsed.port or DEFAULT_PORTS[scheme])
    if seen != (scheme, host, port):
        raise UnsafeUrlError("URL is ambiguous")


def _check_addresses(host: str, resolve: Resolver, port: int) -> None:
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError(f"host {host!r} could not be resolved") from exc
    _require_public(host, addresses)


def _require_public(host: str, addresses: Iterable[str]) -> list[IPAddress]:
    """Parse and check resolved addresses; the error does not reveal them (internal DNS)."""
    parsed: list[IPAddress] = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as exc:
            raise UnsafeUrlError(f"host {host!r} resolved to an invalid address") from exc
        problem = address_problem(ip)
        if problem:
            raise UnsafeUrlError(f"host {host!r} resolves to a {problem} address")
        parsed.append(ip)
    if not parsed:
        raise UnsafeUrlError(f"host {host!r} could not be resolved")
    return parsed


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def _validate_public_url(value: str) -> str:
    try:
        return check_public_url(value)
    except UnsafeUrlError as exc:
        raise ValueError(f"URL is not allowed: {exc.reason}") from exc


PublicHttpUrl = Annotated[
    str,
    Field(max_length=MAX_URL_LENGTH, json_schema_extra={"format": "uri"}),
    AfterValidator(_validate_public_url),
]
"""A `str` field holding a public http(s) URL, normalised by `check_public_url`."""


# --- connect-time guard -----------------------------------------------------------------


async def _anyio_resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend that resolves each host once, checks every address, and connects
    to a checked IP, so DNS rebinding and redirects cannot reach internal addresses.

    Raises `UnsafeUrlError` (not retried by httpcore) for non-public addresses. Addresses
    are tried in resolver order, each with the full connect timeout.
    """

    def __init__(
        self,
        *,
        allow_hosts: Collection[str] = (),
        resolve: AsyncResolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow = _normalise_allow_hosts(allow_hosts)
        self._resolve = resolve or _anyio_resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        options = list(socket_options) if socket_options is not None else None
        if _comparable_host(host) in self._allow:
            return await self._inner.connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=options
            )
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            problem = address_problem(literal)
            if problem:
                raise UnsafeUrlError(f"{literal} is a {problem} address")
            addresses = [literal]
        else:
            try:
                resolved = await self._resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"could not resolve {host!r}: {exc}") from exc
            addresses = _require_public(host, resolved)
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed by the SSRF guard")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(
    allow_hosts: Collection[str] = (),
    *,
    resolve: AsyncResolver | None = None,
    backend: httpcore.AsyncNetworkBackend | None = None,
    **transport_options: Any,
) -> httpx.AsyncHTTPTransport:
    """An `httpx.AsyncHTTPTransport` whose connections go through `GuardedNetworkBackend`.

    Use it as `httpx.AsyncClient(transport=guarded_transport())`; a client given a transport
    ignores proxy environment variables. `transport_options` go to `AsyncHTTPTransport`;
    `proxy` and `uds` are refused because they would bypass the address check. Ports are not
    checked here (check the URL itself with `check_public_url`).
    """
    refused = {"proxy", "uds"} & transport_options.keys()
    if refused:
        raise ValueError(f"guarded_transport does not support {sorted(refused)}")
    transport = httpx.AsyncHTTPTransport(**transport_options)
    pool = transport._pool
    # httpx has no public hook for the network backend; fail loudly if its internals change.
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("unsupported httpx/httpcore version for guarded_transport")
    pool._network_backend = GuardedNetworkBackend(
        allow_hosts=allow_hosts, resolve=resolve, inner=backend
    )
    return transport
