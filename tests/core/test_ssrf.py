"""The SSRF guard: URL shape, host names and addresses, the pydantic type, the transport.

Nothing here touches the network: names are resolved by an injected table, and the
transport tests connect through httpcore's in-memory mock backend.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

import httpcore
import httpx
import pytest
from pydantic import BaseModel, ValidationError

from core.ssrf import (
    MAX_URL_LENGTH,
    GuardedNetworkBackend,
    PublicHttpUrl,
    UnsafeUrlError,
    address_problem,
    check_public_url,
    guarded_transport,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
DNS = {
    "example.com": [PUBLIC_V4],
    "dual.example.com": [PUBLIC_V4, PUBLIC_V6],
    "xn--bcher-kva.example": [PUBLIC_V4],
    "private.example.com": ["10.0.0.5"],
    "mixed.example.com": [PUBLIC_V4, "10.0.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "loop6.example.com": ["::1"],
    "scoped.example.com": ["fe80::1%eth0"],
    "garbage.example.com": ["not-an-ip"],
    "empty.example.com": [],
}


class FakeDns:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return DNS[host]


ACCEPTED = [
    ("https://example.com/a/b?c=1&d=2#frag", "https://example.com/a/b?c=1&d=2#frag"),
    ("HTTP://Example.COM:80/Path", "http://example.com/Path"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:443/x", "https://example.com/x"),
    ("http://example.com:443/x", "http://example.com:443/x"),
    ("https://example.com./x", "https://example.com/x"),
    ("https://example.com:/x", "https://example.com/x"),
    ("https://dual.example.com/", "https://dual.example.com/"),
    ("https://bücher.example/img.png", "https://xn--bcher-kva.example/img.png"),
    ("http://8.8.8.8/", "http://8.8.8.8/"),
    ("https://[2606:4700:4700:0::1111]/", "https://[2606:4700:4700::1111]/"),
    ("https://example.com/caf%C3%A9?q=%20", "https://example.com/caf%C3%A9?q=%20"),
]


@pytest.mark.parametrize(("url", "normalised"), ACCEPTED)
def test_public_urls_are_accepted_and_normalised(url: str, normalised: str) -> None:
    assert check_public_url(url, resolve=FakeDns()) == normalised


REJECTED = [
    # cloud metadata, loopback, private, in every spelling
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
    ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
    ("http://[::ffff:a9fe:a9fe]/", "is a link-local address"),
    ("http://127.0.0.1/", "loopback"),
    ("http://127.0.0.1:80/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "shared"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://192.0.2.1/", "private"),  # documentation range
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::1]/", "private"),
    ("http://[fec0::1]/", "site-local"),
    ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
    ("http://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
    ("http://[::7f00:1]/", "reserved"),  # IPv4-compatible ::127.0.0.1
    ("http://[fe80::1%25eth0]/", "zone identifiers"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),  # full-width digits
    # legacy IPv4 spellings: ipaddress refuses them, inet_aton (getaddrinfo) accepts them
    ("http://0x7f.1/", "four decimal parts"),
    ("http://0x7f000001/", "four decimal parts"),
    ("http://2130706433/", "four decimal parts"),
    ("http://0177.0.0.1/", "four decimal parts"),
    ("http://127.1/", "four decimal parts"),
    ("http://127.000.000.001/", "four decimal parts"),
    ("http://1.2.3.0x4/", "four decimal parts"),
    # names
    ("http://localhost/", "local or internal name"),
    ("http://LOCALHOST./", "local or internal name"),
    ("http://api.localhost/", "local or internal name"),
    ("http://metadata.google.internal/computeMetadata/v1/", "local or internal name"),
    ("http://printer.local/", "local or internal name"),
    ("http://router.home.arpa/", "local or internal name"),
    ("http://intranet/", "not a fully qualified"),
    ("http://private.example.com/", "resolves to a private address"),
    ("http://mixed.example.com/", "resolves to a private address"),
    ("http://metadata.example.com/", "resolves to a link-local address"),
    ("http://mapped.example.com/", "resolves to a link-local address"),
    ("http://loop6.example.com/", "resolves to a loopback address"),
    ("http://scoped.example.com/", "resolves to a link-local address"),
    ("http://garbage.example.com/", "invalid address"),
    ("http://empty.example.com/", "could not be resolved"),
    ("http://nowhere.example.com/", "could not be resolved"),
    ("http://exa_mple!.com/", "not a valid domain name"),
    ("http://-bad-.example.com/", "not a valid domain name"),
    (f"http://{'a' * 64}.example.com/", "not a valid domain name"),
    ("http://" + ".".join(["a" * 63] * 4) + ".com/", "not a valid domain name"),  # > 253
    ("http://a\u200d.example/", "internationalised"),  # zero-width joiner, invalid here
    # shape
    ("http://user:pw@example.com", "credentials"),
    ("http://user@example.com/", "credentials"),
    ("http://@example.com/", "credentials"),
    ("ftp://example.com/file", "scheme 'ftp'"),
    ("file:///etc/passwd", "scheme 'file'"),
    ("gopher://example.com:70/", "scheme 'gopher'"),
    ("javascript:alert(1)", "scheme 'javascript'"),
    ("//example.com/", "scheme '(none)'"),
    ("example.com", "scheme '(none)'"),
    ("http:///path", "no host"),
    ("http://example.com:8080/", "port 8080"),
    ("http://example.com:0/", "port 0"),
    ("http://example.com:99999/", "could not be parsed"),
    ("http://example.com:+80/", "could not be parsed"),
    ("http://[::1/", "could not be parsed"),
    ("http://exa mple.com/", "whitespace"),
    ("http://example.com/\t", "whitespace"),
    (" http://example.com/", "whitespace"),
    ("http://example.com/\n", "whitespace"),
    ("http://example.com/\x00", "control"),
    ("http://example.com\\@127.0.0.1/", "backslashes"),
    ("http://example.com/\u3000", "whitespace"),
    ("http://" + "a" * MAX_URL_LENGTH, f"longer than {MAX_URL_LENGTH}"),
]


@pytest.mark.parametrize(("url", "reason"), REJECTED)
def test_unsafe_urls_are_rejected(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as caught:
        check_public_url(url, resolve=FakeDns())
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"unsafe URL: {caught.value.reason}"


def test_resolved_addresses_are_not_revealed() -> None:
    # An error that named the address would let users map the internal DNS.
    with pytest.raises(UnsafeUrlError) as caught:
        check_public_url("http://private.example.com/", resolve=FakeDns())
    assert "10.0.0.5" not in str(caught.value)


def test_names_are_resolved_in_ascii_with_the_effective_port() -> None:
    dns = FakeDns()
    check_public_url("https://Bücher.example/", resolve=dns)
    check_public_url("http://example.com/", resolve=dns)
    check_public_url("http://example.com:443/", resolve=dns)
    assert dns.calls == [("xn--bcher-kva.example", 443), ("example.com", 80), ("example.com", 443)]


def test_ip_literals_and_refused_names_are_never_resolved() -> None:
    dns = FakeDns()
    check_public_url("http://8.8.8.8/", resolve=dns)
    for url in ["http://127.0.0.1/", "http://localhost/", "http://0x7f.1/", "http://intranet/"]:
        with pytest.raises(UnsafeUrlError):
            check_public_url(url, resolve=dns)
    assert dns.calls == []


@pytest.mark.parametrize(
    ("url", "allow_hosts"),
    [
        ("http://127.0.0.1:8700/v1/shops", ["127.0.0.1"]),
        ("http://LocalHost:8700/", ["localhost"]),
        ("http://localhost:8700/", ["LOCALHOST."]),
        ("http://[::1]:9000/bucket", ["[::1]"]),
        ("http://[::1]:9000/bucket", ["0:0:0:0:0:0:0:1"]),
        ("http://minio:9000/bucket", ["minio"]),
        ("http://private.example.com:8443/", ["private.example.com"]),
    ],
)
def test_allowed_hosts_skip_address_and_port_checks(url: str, allow_hosts: list[str]) -> None:
    dns = FakeDns()
    assert check_public_url(url, allow_hosts=allow_hosts, resolve=dns).startswith("http://")
    assert dns.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1:8700/",
        "http://user:pw@127.0.0.1:8700/",
        "http://127.0.0.2:8700/",  # exact match only
        "http://sub.localhost:8700/",
    ],
)
def test_allowed_hosts_still_need_a_plain_http_url_and_an_exact_match(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_public_url(url, allow_hosts=["127.0.0.1", "localhost"], resolve=FakeDns())


def test_the_system_resolver_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        calls.append((host, port))
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::1", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeUrlError, match="private"):
        check_public_url("https://example.com/")
    assert calls == [("example.com", 443)]


def test_address_problem_classifies_public_addresses_as_fine() -> None:
    for address in [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]:
        assert address_problem(ipaddress.ip_address(address)) is None, address


# --- the pydantic type ------------------------------------------------------------------


class Source(BaseModel):
    url: PublicHttpUrl


def test_public_http_url_validates_and_normalises(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert Source(url="HTTPS://Example.com").url == "https://example.com/"
    assert Source.model_validate_json('{"url": "http://example.com/a"}').url == (
        "http://example.com/a"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data", "URL is not allowed: 169.254.169.254 is a"),
        ("ftp://example.com/", "URL is not allowed: scheme 'ftp'"),
        ("http://localhost:8700/", "URL is not allowed: port 8700"),
    ],
)
def test_public_http_url_rejects_unsafe_urls(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Source(url=url)
    (error,) = caught.value.errors()
    assert error["type"] == "value_error"
    assert error["loc"] == ("url",)
    assert message in error["msg"]


def test_public_http_url_is_length_limited_before_any_check() -> None:
    with pytest.raises(ValidationError) as caught:
        Source(url="http://example.com/" + "a" * MAX_URL_LENGTH)
    assert caught.value.errors()[0]["type"] == "string_too_long"
    schema = Source.model_json_schema()["properties"]["url"]
    assert schema["maxLength"] == MAX_URL_LENGTH
    assert schema["format"] == "uri"


# --- the connect-time guard -------------------------------------------------------------

OK_RESPONSE = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n", b"\r\n", b"ok"]
REDIRECT = [
    b"HTTP/1.1 302 Found\r\n",
    b"Location: http://169.254.169.254/latest/meta-data\r\n",
    b"Content-Length: 0\r\n",
    b"\r\n",
]


class RecordingBackend(httpcore.AsyncMockBackend):
    """The in-memory backend, recording where connections go; some addresses fail."""

    def __init__(self, buffer: list[bytes], unreachable: frozenset[str] = frozenset()) -> None:
        super().__init__(buffer)
        self.connected: list[tuple[str, int]] = []
        self.unreachable = unreachable

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connected.append((host, port))
        if host in self.unreachable:
            raise httpcore.ConnectError(f"{host} unreachable")
        return await super().connect_tcp(host, port, *args, **kwargs)


class AsyncDns:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def client(
    backend: httpcore.AsyncNetworkBackend, dns: AsyncDns, allow: tuple[str, ...] = ()
) -> httpx.AsyncClient:
    transport = guarded_transport(allow, resolve=dns, backend=backend)
    return httpx.AsyncClient(transport=transport, follow_redirects=True)


async def test_transport_connects_to_the_checked_address() -> None:
    backend = RecordingBackend(OK_RESPONSE)
    dns = AsyncDns({"example.com": [PUBLIC_V4]})
    async with client(backend, dns) as http:
        response = await http.get("http://example.com/image.png")
    assert response.text == "ok"
    assert dns.calls == ["example.com"]
    assert backend.connected == [(PUBLIC_V4, 80)]


async def test_transport_refuses_a_name_that_now_resolves_inside() -> None:
    # Passed validation earlier, rebinds to the metadata service at fetch time.
    backend = RecordingBackend(OK_RESPONSE)
    dns = AsyncDns({"example.com": [PUBLIC_V4, "169.254.169.254"]})
    async with client(backend, dns) as http:
        with pytest.raises(UnsafeUrlError, match="link-local"):
            await http.get("https://example.com/")
    assert backend.connected == []


async def test_transport_refuses_redirects_to_internal_addresses() -> None:
    backend = RecordingBackend(REDIRECT)
    dns = AsyncDns({"example.com": [PUBLIC_V4]})
    async with client(backend, dns) as http:
        with pytest.raises(UnsafeUrlError, match=re.escape("169.254.169.254 is a link-local")):
            await http.get("http://example.com/")
    assert backend.connected == [(PUBLIC_V4, 80)]
    assert dns.calls == ["example.com"]


async def test_transport_allows_listed_hosts_as_they_are() -> None:
    backend = RecordingBackend(OK_RESPONSE)
    dns = AsyncDns({})
    async with client(backend, dns, allow=("127.0.0.1",)) as http:
        assert (await http.get("http://127.0.0.1:8700/v1/shops")).status_code == 200
        with pytest.raises(UnsafeUrlError, match="loopback"):
            await http.get("http://127.0.0.2:8700/")
    assert backend.connected == [("127.0.0.1", 8700)]
    assert dns.calls == []


async def test_transport_tries_the_next_checked_address_when_one_fails() -> None:
    backend = RecordingBackend(OK_RESPONSE, unreachable=frozenset({PUBLIC_V6}))
    dns = AsyncDns({"example.com": [PUBLIC_V6, PUBLIC_V4]})
    async with client(backend, dns) as http:
        assert (await http.get("http://example.com/")).status_code == 200
    assert backend.connected == [(PUBLIC_V6, 80), (PUBLIC_V4, 80)]


async def test_transport_reports_connection_failures_as_httpx_errors() -> None:
    backend = RecordingBackend(OK_RESPONSE, unreachable=frozenset({PUBLIC_V4}))
    dns = AsyncDns({"example.com": [PUBLIC_V4]})
    async with client(backend, dns) as http:
        with pytest.raises(httpx.ConnectError, match="unreachable"):
            await http.get("http://example.com/")
        with pytest.raises(httpx.ConnectError, match="could not resolve"):
            await http.get("http://nowhere.example.com/")


async def test_transport_refuses_options_that_bypass_the_check() -> None:
    with pytest.raises(ValueError, match="proxy"):
        guarded_transport(proxy="http://proxy.example.com:3128")
    with pytest.raises(ValueError, match="uds"):
        guarded_transport(uds="/run/app.sock")
    with pytest.raises(httpcore.ConnectError):
        await GuardedNetworkBackend().connect_unix_socket("/run/app.sock")


async def test_transport_defaults_resolve_with_anyio() -> None:
    # A numeric host resolves locally, without any DNS traffic.
    backend = RecordingBackend(OK_RESPONSE)
    guard = GuardedNetworkBackend(inner=backend)
    with pytest.raises(UnsafeUrlError, match="loopback"):
        await guard.connect_tcp("127.0.0.1", 80)
    await guard.sleep(0)
    from core.ssrf import _anyio_resolve

    assert await _anyio_resolve("127.0.0.1", 80) == ["127.0.0.1"]
