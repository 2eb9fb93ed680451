"""Hostile input through the API, class by class (issue 14): no 5xx, every error typed
`{code, message, details?}`, no run left stuck, nothing protected or marked up listed.

Each class has its detailed tests elsewhere (tests/api/test_input_hygiene.py,
tests/integrations/test_ip_screen.py, ...); this walk drives them together against the
whole stack, with the workers running."""

from __future__ import annotations

from typing import Any

import httpx

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig
from tests.e2e.helpers import etsy_headers, poll_run, wait_for_end
from tests.stack import WorkerSet

START = "/v1/workflows/design-to-listing"


def typed(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The error answer's body, checked: the status, the shape and (if given) the code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) <= {"code", "message", "details"} and body["code"] and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


async def test_hostile_requests_are_refused_typed_and_nothing_is_stuck_or_listed(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    # Input hygiene at the edge: refused before any query.
    typed(await api.post(START, json={"keyword": "cat\x00mom"}), 422, "VALIDATION_ERROR")
    typed(await api.post(START, json={"keyword": "   \t  "}), 422, "VALIDATION_ERROR")
    typed(await api.get("/v1/workflows", params={"offset": 2**64}), 422, "VALIDATION_ERROR")
    typed(await api.get("/v1/workflows/dtl-%01x"), 422, "VALIDATION_ERROR")
    typed(
        await api.post(START, content=b"keyword=cat", headers={"Content-Type": "text/plain"}),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    wrong = await api.put("/v1/templates")
    assert typed(wrong, 405)["details"]["allowed"] == ["GET", "POST"]
    assert wrong.headers["Allow"] == "GET, POST"
    typed(await api.post("/v1/members", json={"email": "a\x07@b.co", "role": "viewer"}), 422)

    # Protected names, however written, and profanity: the run fails typed, lists nothing.
    refused = []
    for keyword in ("Baby Yoda christmas sweater", "p0kem0n trainer", "harry potter's wand"):
        started = await api.post(START, json={"keyword": keyword})
        assert started.status_code == 202, started.text
        refused.append(started.json()["workflow_id"])
    for workflow_id in refused:
        view = await wait_for_end(api, workflow_id)
        assert view["status"] == "failed", view
        assert view["error"]["code"] == "UNSAFE_CONTENT"
        assert view["error"]["stage"] == "generate_brief"

    # Markup and an SQL-looking keyword: plain words on the live listing.
    started = await api.post(START, json={"keyword": "<b>axolotl</b> mom'; DROP TABLE x;--"})
    assert started.status_code == 202, started.text
    view = await wait_for_end(api, started.json()["workflow_id"])
    assert view["status"] == "completed", view
    async with httpx.AsyncClient(base_url=emulator.url) as vendor:
        listing = (
            await vendor.get(
                f"/etsy/v3/application/listings/{view['result']['etsy_listing_id']}",
                headers=etsy_headers(emulator_config),
            )
        ).json()
    for text in (listing["title"], listing["description"], *listing["tags"]):
        assert "<" not in text and "DROP TABLE x;" not in text and "--" not in text, text

    # A reject reason with a control character is refused, and the run is not stuck.
    approval = await api.post(START, json={"keyword": "sloth yoga club", "require_approval": True})
    assert approval.status_code == 202, approval.text
    held = approval.json()["workflow_id"]
    await poll_run(api, held, lambda run: run["status"] == "awaiting_approval")
    typed(
        await api.post(f"/v1/workflows/{held}/reject", json={"reason": "no\x00pe"}),
        422,
        "VALIDATION_ERROR",
    )
    assert (await api.post(f"/v1/workflows/{held}/reject", json={"reason": "not now"})).is_success
    assert (await wait_for_end(api, held))["status"] == "rejected"

    # Nothing is left running, and the only listing is the clean one.
    runs = (await api.get("/v1/workflows", params={"limit": 100})).json()["data"]
    assert not [run for run in runs if run["status"] in ("running", "queued")], runs
    listings = (await api.get("/v1/listings")).json()["data"]
    assert [item["etsy_listing_id"] for item in listings] == [view["result"]["etsy_listing_id"]]
