"""The emulators keep when each vendor request arrived; `GET /__admin/traffic` reports a
vendor's busiest window, so tests can hold the clients to the vendors' rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig
from sandbox.faults import most_in_window

CONFIG = EmulatorConfig()
PRINTIFY = {"Authorization": f"Bearer {CONFIG.printify_token}", "User-Agent": "tests"}
ETSY = {"x-api-key": f"{CONFIG.etsy_keystring}:{CONFIG.etsy_shared_secret}"}


def test_most_in_window_counts_half_open_spans() -> None:
    assert most_in_window([], 1.0) == 0
    assert most_in_window([5.0], 1.0) == 1
    assert most_in_window([0.0, 0.5, 0.99, 1.0, 1.5], 1.0) == 3
    assert most_in_window([0.0, 0.25, 0.5, 0.75], 0.25) == 1
    assert most_in_window([0.0, 0.05, 0.1, 2.0, 2.01, 2.02, 2.03], 1.0) == 4
    assert most_in_window([float(t) for t in range(120)], 60.0) == 60


@pytest.fixture
def admin(emulator: ThreadedServer, clear_faults: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url) as client:
        yield client


def test_traffic_is_reported_per_vendor_and_cleared_with_the_faults(admin: httpx.Client) -> None:
    for _ in range(3):
        assert admin.get("/printify/v1/shops.json", headers=PRINTIFY).status_code == 200
    rule = {"method": "GET", "path_regex": "openapi-ping$", "status": 429, "retry_after": 1}
    assert admin.post("/__admin/faults", json=rule).status_code == 204
    pings = [admin.get("/etsy/v3/application/openapi-ping", headers=ETSY) for _ in range(2)]
    assert [ping.status_code for ping in pings] == [429, 200]

    etsy = admin.get("/__admin/traffic", params={"vendor": "etsy"}).json()
    assert etsy["count"] == 2  # a refused request is traffic too: vendors count it
    assert etsy["max_in_window"] == 2 and etsy["window_seconds"] == 1.0
    assert 0 < etsy["span_seconds"] < 1
    printify = admin.get("/__admin/traffic", params={"vendor": "printify", "window": 60}).json()
    assert (printify["count"], printify["max_in_window"]) == (3, 3)
    tight = admin.get("/__admin/traffic", params={"vendor": "printify", "window": 1e-9}).json()
    assert tight["max_in_window"] == 1

    assert admin.delete("/__admin/faults").status_code == 204
    cleared = admin.get("/__admin/traffic", params={"vendor": "etsy"}).json()
    assert cleared == {
        "vendor": "etsy",
        "count": 0,
        "span_seconds": 0.0,
        "window_seconds": 1.0,
        "max_in_window": 0,
    }


def test_traffic_needs_a_vendor_and_a_positive_window(admin: httpx.Client) -> None:
    assert admin.get("/__admin/traffic").status_code == 422
    assert admin.get("/__admin/traffic", params={"vendor": "../x"}).status_code == 422
    bad_window = admin.get("/__admin/traffic", params={"vendor": "etsy", "window": 0})
    assert bad_window.status_code == 422
