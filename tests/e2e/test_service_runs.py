"""Each service on its own, end to end: a brief, then a design for it, then a listing
for the design — three short runs that together do what one design-to-listing run does."""

from __future__ import annotations

import uuid

import httpx

from core.db import SessionFactory
from core.http_server import ThreadedServer
from models.tables import TrendSignal
from sandbox.app import EmulatorConfig
from tests.e2e.helpers import LISTING_PHOTOS, vendor_counts, wait_for_end
from tests.stack import WorkerSet


async def finished(api: httpx.AsyncClient, response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 202, response.text
    return await wait_for_end(api, response.json()["workflow_id"])


async def test_brief_then_design_then_listing(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    longest_key = "k" * 200  # the longest the header allows still fits the record
    brief_run = await finished(
        api,
        await api.post(
            "/v1/briefs",
            json={"keyword": "axolotl mom"},
            headers={"Idempotency-Key": longest_key},
        ),
    )
    assert brief_run["kind"] == "brief" and brief_run["status"] == "completed", brief_run
    brief_id = brief_run["result"]["brief_id"]  # type: ignore[index]
    brief = (await api.get(f"/v1/briefs/{brief_id}")).json()
    assert brief["status"] == "ready"
    assert brief["keyword"] == "axolotl mom"
    assert brief["brief"]["title"] == brief["title"]
    assert (await api.get("/v1/listings")).json()["count"] == 0  # nothing published

    design_request = await api.post(f"/v1/briefs/{brief_id}/designs", json={})
    design_run = await finished(api, design_request)
    assert design_run["kind"] == "design" and design_run["status"] == "completed", design_run
    design_id = design_run["result"]["design_id"]  # type: ignore[index]
    design = (await api.get(f"/v1/designs/{design_id}")).json()
    assert design["brief_id"] == brief_id
    assert (design["width"], design["height"], design["dpi"]) == (4500, 5400, 300)
    assert (await api.get(f"/v1/briefs/{brief_id}")).json()["status"] == "approved"
    again = await api.post(f"/v1/briefs/{brief_id}/designs", json={})
    assert again.json()["workflow_id"] == design_run["workflow_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await api.get("/v1/listings")).json()["count"] == 0

    publishing = await api.post(f"/v1/designs/{design_id}/listings")
    # A second listing of the same design is refused while the first run is under way.
    racing = await api.post(
        f"/v1/designs/{design_id}/listings", headers={"Idempotency-Key": "racing-listing"}
    )
    assert racing.status_code == 409
    assert racing.json()["code"] == "DESIGN_ALREADY_LISTED"
    publish_run = await finished(api, publishing)
    assert publish_run["kind"] == "publish" and publish_run["status"] == "completed", publish_run
    result = publish_run["result"]
    assert isinstance(result, dict)
    assert result["design_id"] == design_id and result["brief_id"] == brief_id
    counts = await vendor_counts(
        emulator.url, emulator_config, str(publish_run["workflow_id"]), brief["title"]
    )
    assert counts == {"uploads": 1, "products": 1, "listings": 1, "listing_images": LISTING_PHOTOS}
    listings = (await api.get("/v1/listings")).json()
    assert [item["design_id"] for item in listings["data"]] == [design_id]
    repeat = await api.post(f"/v1/designs/{design_id}/listings")
    assert repeat.json()["workflow_id"] == publish_run["workflow_id"]
    second = await api.post(
        f"/v1/designs/{design_id}/listings", headers={"Idempotency-Key": "another-listing"}
    )
    assert second.status_code == 409
    assert second.json()["code"] == "DESIGN_ALREADY_LISTED"

    usage = (await api.get("/v1/billing/usage")).json()["used"]
    assert (usage["briefs"], usage["images"], usage["products"], usage["listings"]) == (1, 1, 1, 1)


async def test_a_protected_keyword_gets_no_brief(
    api: httpx.AsyncClient, workers: WorkerSet
) -> None:
    run = await finished(api, await api.post("/v1/briefs", json={"keyword": "Disney Princess"}))

    assert run["status"] == "failed"
    error = run["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["stage"]) == ("UNSAFE_CONTENT", "generate_brief")
    assert error["details"]["protected_names"] == {
        "disney": {"list": "platform", "category": "entertainment"},
        "disney princess": {"list": "platform", "category": "entertainment"},
    }
    assert (await api.get("/v1/briefs")).json()["count"] == 0
    assert (await api.get("/v1/workflows")).json()["count"] == 1


async def test_a_refused_brief_gets_no_design(api: httpx.AsyncClient, workers: WorkerSet) -> None:
    # The keyword passes; the copy the brief writer adds names what the tenant protects.
    protected = await api.post("/v1/protected-names", json={"name": "typographic tee"})
    assert protected.status_code == 201, protected.text
    run = await finished(api, await api.post("/v1/briefs", json={"keyword": "river otter"}))

    assert run["status"] == "failed"
    error = run["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["stage"]) == ("UNSAFE_CONTENT", "screen_brief")
    [brief] = (await api.get("/v1/briefs", params={"status": "refused"})).json()["data"]
    assert brief["workflow_id"] == run["workflow_id"]
    assert brief["screening"]["categories"] == ["trademark"]
    assert brief["screening"]["protected_names"] == {
        "typographic tee": {"list": "tenant", "category": "custom"}
    }
    refused = await api.post(f"/v1/briefs/{brief['id']}/designs")
    assert refused.status_code == 409
    assert refused.json()["code"] == "BRIEF_NOT_READY"
    assert (await api.get("/v1/workflows")).json()["count"] == 1


async def test_a_brief_from_a_trend_signal(
    api: httpx.AsyncClient, workers: WorkerSet, sessions: SessionFactory, tenant: str
) -> None:
    async with sessions() as session:
        signal = TrendSignal(
            tenant_id=tenant,
            keyword="Mushroom Foraging",
            normalized_keyword="mushroom foraging",
            niche_key="foraging mushroom",
        )
        session.add(signal)
        await session.commit()

    run = await finished(
        api, await api.post("/v1/briefs", json={"trend_signal_id": str(signal.id)})
    )
    unknown = await api.post("/v1/briefs", json={"trend_signal_id": str(uuid.uuid4())})
    both = await api.post("/v1/briefs", json={"keyword": "x y", "trend_signal_id": str(signal.id)})

    assert run["status"] == "completed"
    assert run["keyword"] == "Mushroom Foraging"
    assert unknown.status_code == 422 and unknown.json()["code"] == "TREND_SIGNAL_NOT_FOUND"
    assert both.status_code == 422 and both.json()["code"] == "VALIDATION_ERROR"
