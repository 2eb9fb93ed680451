"""The shared HTTP core on its own: rate limits, `Retry-After`, backoff, the error mapping
(once, per status) and its path into a Temporal failure. Vendors are `MockTransport`s
here; the contract tests run the same code against the emulators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest

from activities.errors import activity_failure
from domain.errors import register_vendor
from integrations.errors import VendorError
from integrations.http import (
    Limit,
    SlidingWindow,
    VendorHttp,
    backoff_delay,
    parse_retry_after,
    steady_rate,
)
from integrations.printify import PrintifyClient, PrintifyLimits, parse_printify_error

# The generic HTTP core is tried with a vendor of its own; its codes join the catalogue.
register_vendor("acme")

Handler = Callable[[httpx.Request], httpx.Response]


def vendor_http(
    handler: Handler, *, limits: Sequence[Limit] = (), max_attempts: int = 3
) -> VendorHttp:
    return VendorHttp(
        "acme",
        base_url="https://api.acme.test/v1",
        headers={},
        limits=lambda _method, _path: limits,
        error_message=parse_printify_error,
        max_attempts=max_attempts,
        backoff_base=0.01,
        transport=httpx.MockTransport(handler),
    )


def answers(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with `responses` in turn (the last one repeats), and its log."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return handle, seen


# --- Retry-After and backoff --------------------------------------------------------------


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-4") == 0.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (parse_retry_after(soon) or 0) <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(past) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None and parse_retry_after(None) is None


def test_backoff_is_full_jitter_capped_and_never_shorter_than_retry_after() -> None:
    delays = [backoff_delay(3, None, base=0.5, cap=2.0) for _ in range(300)]
    assert all(0 <= delay <= 2.0 for delay in delays)  # min(cap, 0.5 * 2**3) = 2.0
    assert len({round(delay, 3) for delay in delays}) > 100  # jittered, not fixed
    assert all(0 <= backoff_delay(1, None, base=0.25, cap=8) <= 0.5 for _ in range(100))
    assert all(backoff_delay(1, 3.0, base=0.25, cap=8) == 3.0 for _ in range(100))


# --- the error mapping, once for every vendor ---------------------------------------------

STATUSES = [
    (400, "ACME_VALIDATION", False),
    (422, "ACME_VALIDATION", False),
    (401, "ACME_AUTH", False),
    (403, "ACME_AUTH", False),
    (404, "ACME_NOT_FOUND", False),
    (409, "ACME_CONFLICT", False),
    (408, "ACME_UNAVAILABLE", True),
    (425, "ACME_UNAVAILABLE", True),
    (429, "ACME_RATE_LIMITED", True),
    (500, "ACME_UNAVAILABLE", True),
    (502, "ACME_UNAVAILABLE", True),
    (503, "ACME_UNAVAILABLE", True),
    (504, "ACME_UNAVAILABLE", True),
]


@pytest.mark.parametrize(("status", "code", "retryable"), STATUSES)
async def test_each_status_maps_to_one_code_and_retry_decision(
    status: int, code: str, retryable: bool
) -> None:
    handler, seen = answers(httpx.Response(status, json={"message": "nope"}))
    http = vendor_http(handler, max_attempts=1)
    try:
        with pytest.raises(VendorError) as caught:
            await http.request("GET", "things.json")
    finally:
        await http.aclose()
    assert (caught.value.status, caught.value.code, caught.value.retryable) == (
        status,
        code,
        retryable,
    )
    assert len(seen) == 1


async def test_a_validation_error_becomes_a_permanent_failure_with_the_vendor_reason() -> None:
    body = {
        "status": "error",
        "code": 8203,
        "message": "Validation failed.",
        "errors": {"reason": "Image has low quality", "code": 8203},
    }
    handler, _ = answers(httpx.Response(400, json=body))
    http = vendor_http(handler)
    try:
        with pytest.raises(VendorError) as caught:
            await http.request("POST", "/products.json", json={})
    finally:
        await http.aclose()
    failure = activity_failure(caught.value)
    assert failure.type == "ACME_VALIDATION" and failure.non_retryable
    assert failure.details[0] == {
        "vendor": "acme",
        "status": 400,
        "reason": "Image has low quality",
        "vendor_code": 8203,
    }
    assert "Image has low quality" in failure.message


async def test_a_rate_limit_becomes_a_retryable_failure_no_sooner_than_retry_after() -> None:
    handler, seen = answers(httpx.Response(429, headers={"retry-after": "120"}))
    http = vendor_http(handler)
    try:
        with pytest.raises(VendorError) as caught:
            await http.request("GET", "things.json")
    finally:
        await http.aclose()
    # Far longer than the backoff cap: not slept through here, Temporal waits instead.
    assert len(seen) == 1
    failure = activity_failure(caught.value)
    assert failure.type == "ACME_RATE_LIMITED" and not failure.non_retryable
    assert failure.next_retry_delay == timedelta(seconds=120)


# --- what is retried here ----------------------------------------------------------------


async def test_a_get_is_retried_after_the_retry_after_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    handler, seen = answers(
        httpx.Response(503, headers={"retry-after": later}), httpx.Response(200, json={})
    )
    http = vendor_http(handler)
    started = time.monotonic()
    try:
        assert (await http.request("GET", "things.json")).status_code == 200
    finally:
        await http.aclose()
    assert len(seen) == 2
    assert time.monotonic() - started >= 0.9  # the date has one-second resolution


async def test_a_post_is_retried_after_429_but_not_after_503() -> None:
    handler, seen = answers(
        httpx.Response(429, headers={"retry-after": "0"}), httpx.Response(201, json={})
    )
    http = vendor_http(handler)
    try:
        assert (await http.request("POST", "things.json")).status_code == 201
    finally:
        await http.aclose()
    assert len(seen) == 2  # refused before acting: safe to repeat

    handler, seen = answers(httpx.Response(503), httpx.Response(201, json={}))
    http = vendor_http(handler)
    try:
        with pytest.raises(VendorError) as unavailable:
            await http.request("POST", "things.json")
    finally:
        await http.aclose()
    assert unavailable.value.retryable and len(seen) == 1  # the activity looks up first


async def test_a_lost_connection_repeats_a_get_but_not_a_post() -> None:
    attempts: list[str] = []

    def drop(request: httpx.Request) -> httpx.Response:
        attempts.append(request.method)
        raise httpx.ConnectError("reset", request=request)

    http = vendor_http(drop)
    try:
        with pytest.raises(VendorError) as lost:
            await http.request("POST", "things.json")
        with pytest.raises(VendorError):
            await http.request("GET", "things.json")
    finally:
        await http.aclose()
    assert (lost.value.code, lost.value.retryable, lost.value.status) == (
        "ACME_UNAVAILABLE",
        True,
        None,
    )
    assert attempts == ["POST", "GET", "GET", "GET"]  # max_attempts=3


# --- rate limits --------------------------------------------------------------------------


async def test_a_sliding_window_counts_a_request_until_period_after_its_answer() -> None:
    window = SlidingWindow(3, 0.3)
    entered: list[float] = []
    answered: list[float] = []

    async def request(latency: float) -> None:
        async with window:
            entered.append(time.monotonic())
            await asyncio.sleep(latency)
            answered.append(time.monotonic())

    await asyncio.gather(*(request(0.02 * (i % 3)) for i in range(9)))
    assert entered[2] - entered[0] < 0.05  # the first `count` go at once
    for later in range(3, 9):
        # The request `count` places earlier was answered at least a period ago.
        assert entered[later] >= sorted(answered)[later - 3] + 0.3 - 0.005


async def test_a_window_slot_is_freed_when_the_request_fails() -> None:
    window = SlidingWindow(1, 0.05)
    with pytest.raises(RuntimeError):
        async with window:
            raise RuntimeError("vendor unreachable")
    await asyncio.wait_for(window.__aenter__(), timeout=1)
    await window.__aexit__(None, None, None)
    with pytest.raises(ValueError, match="count"):
        SlidingWindow(0, 1.0)


async def test_a_steady_rate_spaces_requests_evenly_and_caps_every_second() -> None:
    limits = steady_rate(20.0)
    moments: list[float] = []
    handler, _ = answers(httpx.Response(200, json={}))

    def timed(request: httpx.Request) -> httpx.Response:
        moments.append(time.monotonic())
        return handler(request)

    http = vendor_http(timed, limits=limits)
    try:
        await asyncio.gather(*(http.request("GET", "x.json") for _ in range(25)))
    finally:
        await http.aclose()
    gaps = [b - a for a, b in pairwise(moments)]
    # Slots are 50 ms apart; the transport sees them a little later, each by its own
    # delay (on a busy two-core machine 2 ms was not always enough for that): 10 ms.
    assert min(gaps) >= 0.05 - 0.01
    assert all(sum(1 for m in moments if start <= m < start + 1) <= 20 for start in moments)
    fractional = steady_rate(2.5)
    assert isinstance(fractional[0], SlidingWindow) and fractional[0].count == 2


def test_printify_scopes_pick_their_limits() -> None:
    limits = PrintifyLimits.build(per_second=5.0, shared=(SlidingWindow(9, 1.0),))
    overall = limits.overall
    assert len(overall) == 3 and overall[-1].count == 9  # type: ignore[attr-defined]
    assert limits.for_request("GET", "catalog/blueprints.json") == (*limits.catalog, *overall)
    publish = "shops/1/products/abc/publish.json"
    assert limits.for_request("POST", publish) == (*limits.publish, *overall)
    assert limits.for_request("POST", "shops/1/products/abc/unpublish.json") == overall
    assert limits.for_request("GET", "shops.json") == overall
    (catalog,) = limits.catalog
    (publishes,) = limits.publish
    assert isinstance(catalog, SlidingWindow) and (catalog.count, catalog.period) == (100, 60.0)
    assert isinstance(publishes, SlidingWindow)
    assert (publishes.count, publishes.period) == (200, 1800.0)


async def test_catalog_reads_wait_for_their_own_cap_and_other_calls_do_not() -> None:
    def vendor(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[])

    limits = PrintifyLimits(
        overall=steady_rate(100.0),
        catalog=(SlidingWindow(2, 0.5),),
        publish=(SlidingWindow(1, 60.0),),
    )
    client = PrintifyClient(
        base_url="https://api.printify.test/v1",
        token="t",
        user_agent="tests",
        transport=httpx.MockTransport(vendor),
        limits=limits,
    )
    try:
        started = time.monotonic()
        await client.list_blueprints()
        await client.list_blueprint_providers(6)
        assert time.monotonic() - started < 0.3
        shops = time.monotonic()
        await client.list_shops()
        assert time.monotonic() - shops < 0.3  # not a catalog call
        await client.list_blueprints()  # the third catalog read in half a second waits
        assert time.monotonic() - started >= 0.5
    finally:
        await client.aclose()


async def test_limits_are_left_even_when_the_transport_fails() -> None:
    window = SlidingWindow(1, 0.01)

    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    http = vendor_http(drop, limits=(window,), max_attempts=2)
    try:
        with pytest.raises(VendorError):
            await asyncio.wait_for(http.request("GET", "x.json"), timeout=5)
    finally:
        await http.aclose()
    assert window._in_flight == 0


def test_activity_failure_keeps_any_retry_after() -> None:
    error = VendorError("acme", "busy", status=503, code="ACME_UNAVAILABLE", retryable=True)
    assert activity_failure(error).next_retry_delay is None
    details: dict[str, Any] = {"error": "Title is too long"}
    permanent = VendorError(
        "etsy", "bad", status=400, code="ETSY_VALIDATION", retryable=False, details=details
    )
    failure = activity_failure(permanent)
    assert failure.non_retryable and failure.details[0]["error"] == "Title is too long"
