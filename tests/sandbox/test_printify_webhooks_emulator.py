"""The Printify emulator's webhooks over real HTTP: subscriptions, and signed
`product:publish:started` deliveries to a real receiver, with Printify's retries and
the test switches (drop, duplicate)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.http_server import ThreadedServer
from domain.webhooks import signature_is_valid
from sandbox.app import EmulatorConfig, create_emulator_app
from tests.sandbox.test_printify_emulator import HEADERS, SHOP, assert_error, create_product

SECRET = "receiver-secret"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Receiver:
    """A subscriber over real HTTP: records each delivery, answers `statuses` in turn (then 200)."""

    server: ThreadedServer
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} deliveries"
            time.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    lock = threading.Lock()

    async def hook(request: Request) -> JSONResponse:
        body = await request.body()
        with lock:
            state.received.append((dict(request.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
        return JSONResponse({"ok": status == 200}, status_code=status)

    server = ThreadedServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])).start()
    state = Receiver(server)
    yield state
    server.stop()


@pytest.fixture
def printify(tmp_path: Path) -> Iterator[httpx.Client]:
    """A private emulator (its own subscriptions and delivery mode)."""
    server = ThreadedServer(create_emulator_app(tmp_path, EmulatorConfig())).start()
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        yield client
    server.stop()


def subscribe(
    printify: httpx.Client, url: str, *, topic: str = "product:publish:started", **extra: Any
) -> dict[str, Any]:
    response = printify.post(
        f"/printify/v1/shops/{SHOP}/webhooks.json", json={"topic": topic, "url": url, **extra}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def root(printify: httpx.Client) -> str:
    return str(printify.base_url).rstrip("/")


def publish(printify: httpx.Client) -> str:
    with httpx.Client(base_url=f"{root(printify)}/printify/v1", headers=HEADERS) as vendor:
        product = create_product(vendor)
    answer = printify.post(
        f"/printify/v1/shops/{SHOP}/products/{product['id']}/publish.json",
        json={"title": True, "keyFeatures": False},
    )
    assert answer.status_code == 200 and answer.json() == {}
    return str(product["id"])


def deliveries(printify: httpx.Client, expected: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        found: list[dict[str, Any]] = printify.get("/__admin/printify/webhook-deliveries").json()
        if len(found) >= expected:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def test_subscriptions_are_listed_changed_and_deleted(
    printify: httpx.Client, tmp_path: Path
) -> None:
    base = f"/printify/v1/shops/{SHOP}/webhooks"
    made = subscribe(printify, "https://pod.example/v1/webhooks/printify", secret=SECRET)
    assert set(made) == {"topic", "url", "shop_id", "id"}  # the secret is never shown
    assert re.fullmatch(r"[0-9a-f]{24}", made["id"])
    assert made["shop_id"] == SHOP
    other = subscribe(printify, "https://pod.example/orders", topic="order:created")
    assert printify.get(f"{base}.json").json() == [made, other]

    moved = printify.put(f"{base}/{made['id']}.json", json={"url": "https://new.example/hook"})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {**made, "url": "https://new.example/hook"}
    refused = printify.put(
        f"{base}/{made['id']}.json", json={"url": "https://x.example", "topic": "order:created"}
    )
    assert_error(refused, 400, 8150)

    assert printify.delete(f"{base}/{other['id']}.json").json() == {"id": other["id"]}
    assert [hook["id"] for hook in printify.get(f"{base}.json").json()] == [made["id"]]
    assert_error(printify.delete(f"{base}/{other['id']}.json"), 404, 404)
    assert_error(printify.put(f"{base}/{'0' * 24}.json", json={"url": "https://a.b"}), 404, 404)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"topic": "product:published", "url": "https://a.example"}, "topic"),
        ({"topic": "product:publish:started"}, "url"),
        ({"topic": "product:publish:started", "url": "ftp://a.example"}, "url"),
        ({"topic": "product:publish:started", "url": "/relative"}, "url"),
    ],
)
def test_invalid_subscriptions_are_refused(
    printify: httpx.Client, body: dict[str, Any], reason: str
) -> None:
    response = printify.post(f"/printify/v1/shops/{SHOP}/webhooks.json", json=body)
    assert assert_error(response, 400, 8150)["errors"]["reason"].startswith(reason)


def test_webhooks_need_the_token_and_a_known_shop(printify: httpx.Client) -> None:
    anonymous = httpx.get(
        f"{root(printify)}/printify/v1/shops/{SHOP}/webhooks.json", headers={"User-Agent": "t"}
    )
    assert_error(anonymous, 401, 401)
    assert_error(printify.get("/printify/v1/shops/1/webhooks.json"), 404, 404)


def test_publish_delivers_a_signed_event_to_the_shops_subscribers(
    printify: httpx.Client, receiver: Receiver
) -> None:
    hook = subscribe(printify, receiver.url, secret=SECRET)
    subscribe(printify, receiver.url, topic="order:created", secret=SECRET)  # not this topic
    product_id = publish(printify)

    [(headers, body)] = receiver.wait_for(1)
    assert signature_is_valid(SECRET, body, headers["x-pfy-signature"])
    assert headers["content-type"] == "application/json"
    event = json.loads(body)
    assert UUID.match(event["id"])
    assert event["type"] == "product:publish:started"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00", event["created_at"])
    assert event["resource"] == {
        "id": product_id,
        "type": "product",
        "data": {
            "shop_id": SHOP,
            "publish_details": {
                "title": True,
                "description": True,
                "images": True,
                "variants": True,
                "tags": True,
                "key_features": False,
                "shipping_template": True,
            },
            "action": "create",
            "out_of_stock_publishing": 0,
        },
    }
    [delivery] = deliveries(printify, 1)
    assert delivery["event_id"] == event["id"]
    assert delivery["webhook_id"] == hook["id"]
    assert (delivery["outcome"], delivery["statuses"]) == ("delivered", [200])
    time.sleep(0.3)
    assert len(receiver.received) == 1


def test_without_a_secret_events_are_unsigned(printify: httpx.Client, receiver: Receiver) -> None:
    subscribe(printify, receiver.url)
    publish(printify)
    [(headers, _)] = receiver.wait_for(1)
    assert "x-pfy-signature" not in headers


def test_a_failing_subscriber_gets_three_retries(
    printify: httpx.Client, receiver: Receiver
) -> None:
    receiver.statuses = [500, 404, 503, 500]
    subscribe(printify, receiver.url, secret=SECRET)
    publish(printify)
    received = receiver.wait_for(4)
    assert len({body for _, body in received}) == 1  # the same event each time
    [delivery] = deliveries(printify, 1)
    assert (delivery["outcome"], delivery["statuses"]) == ("failed", [500, 404, 503, 500])


def test_a_retry_that_succeeds_ends_the_delivery(
    printify: httpx.Client, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    subscribe(printify, receiver.url, secret=SECRET)
    publish(printify)
    receiver.wait_for(2)
    [delivery] = deliveries(printify, 1)
    assert (delivery["outcome"], delivery["statuses"]) == ("delivered", [503, 200])


def test_an_unreachable_subscriber_is_recorded(printify: httpx.Client) -> None:
    # Port 9 (discard) on loopback refuses at once; every attempt is recorded as None.
    subscribe(printify, "http://127.0.0.1:9/hook", secret=SECRET)
    publish(printify)
    [delivery] = deliveries(printify, 1)
    assert delivery["outcome"] == "failed"
    assert delivery["statuses"] == [None, None, None, None]


def test_the_switch_drops_or_duplicates_deliveries(
    printify: httpx.Client, receiver: Receiver
) -> None:
    subscribe(printify, receiver.url, secret=SECRET)
    assert printify.post("/__admin/printify/webhooks", json={"mode": "drop"}).json() == {
        "mode": "drop"
    }
    publish(printify)
    [dropped] = deliveries(printify, 1)
    assert (dropped["outcome"], dropped["statuses"]) == ("dropped", [])
    time.sleep(0.3)
    assert receiver.received == []

    printify.post("/__admin/printify/webhooks", json={"mode": "duplicate"})
    publish(printify)
    received = receiver.wait_for(2)
    assert json.loads(received[0][1])["id"] == json.loads(received[1][1])["id"]
    unknown = printify.post("/__admin/printify/webhooks", json={"mode": "sometimes"})
    assert unknown.status_code == 422

    assert printify.delete("/__admin/printify/webhook-deliveries").status_code == 204
    assert deliveries(printify, 0) == []


def test_subscriptions_survive_a_restart(tmp_path: Path) -> None:
    def serve() -> ThreadedServer:
        return ThreadedServer(create_emulator_app(tmp_path, EmulatorConfig())).start()

    server = serve()
    with httpx.Client(base_url=server.url, headers=HEADERS) as printify:
        made = subscribe(printify, "https://pod.example/hook", secret=SECRET)
    server.stop()
    again = serve()
    try:
        listed = httpx.get(
            f"{again.url}/printify/v1/shops/{SHOP}/webhooks.json", headers=HEADERS
        ).json()
    finally:
        again.stop()
    assert listed == [made]
