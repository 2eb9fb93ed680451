"""Trend intelligence end to end: scrapes of the four emulated sources through the real
workers, merging on a second scrape, a failing source, the API's views, and campaigns."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from core.storage import LocalStorage
from models.trends import TrendScrapeResult
from sandbox.app import EmulatorConfig
from tests.accounts import Account
from tests.conftest import api_client
from tests.e2e.helpers import etsy_headers
from tests.stack import WorkerSet

SOURCES = {"google_trends", "reddit", "pinterest", "etsy"}


async def scrape(
    api: httpx.AsyncClient, temporal: Client, body: dict[str, Any] | None = None
) -> TrendScrapeResult:
    response = await api.post("/v1/trends/scrape", json=body or {})
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["started"] is True
    handle = temporal.get_workflow_handle(
        started["workflow_id"], run_id=started["run_id"], result_type=TrendScrapeResult
    )
    result: TrendScrapeResult = await handle.result()
    # The seller follows it through the API, at the address the 202 named.
    view = (await api.get(started["self_url"], params={"run_id": started["run_id"]})).json()
    assert started["self_url"] == f"/v1/trends/scrapes/{started['workflow_id']}"
    assert view["status"] == "completed", view
    assert (view["result"]["created"], view["result"]["merged"]) == (result.created, result.merged)
    assert view["closed_at"] >= view["started_at"]
    return result


async def all_trends(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await api.get("/v1/trends", params={"limit": 100, **params})).json()
    return page


async def test_a_scrape_stores_all_four_sources_and_the_same_data_again_merges(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client
) -> None:
    first = await scrape(api, temporal_client)
    assert {o.source: o.ok for o in first.sources} == dict.fromkeys(SOURCES, True)
    assert first.created > 0
    page = await all_trends(api)
    assert page["count"] == first.created
    seen = {source for signal in page["data"] for source in signal["sources"]}
    assert seen == SOURCES
    # Cross-source near-duplicates were merged into one signal.
    merged = [s for s in page["data"] if len(set(s["sources"]) - {"etsy"}) > 1]
    assert merged, "no signal was seen by two sources"
    scores = [s["score"] for s in page["data"]]
    assert scores == sorted(scores, reverse=True)
    assert all(
        abs(sum(v for k, v in s["components"].items() if k != "scored_at") - s["score"]) < 0.01
        for s in page["data"]
    )

    second = await scrape(api, temporal_client)
    assert second.created == 0
    assert second.merged == first.created + first.merged
    again = await all_trends(api)
    assert again["count"] == page["count"]
    before = {s["id"]: s["observations"] for s in page["data"]}
    assert all(s["observations"] > before[s["id"]] for s in again["data"] if s["id"] in before)

    # The filters and the views of one signal.
    reddit = await all_trends(api, source="reddit")
    assert 0 < reddit["count"] < page["count"]
    assert all("reddit" in s["sources"] for s in reddit["data"])
    cat = await all_trends(api, q="cat mom")
    assert cat["count"] >= 1 and all("cat" in s["normalized_keyword"] for s in cat["data"])
    one = page["data"][0]
    view = (await api.get(f"/v1/trends/{one['id']}")).json()
    assert view["components"].keys() >= {"growth", "volume", "competition", "recency"}
    similar = (await api.get(f"/v1/trends/{one['id']}/similar", params={"limit": 5})).json()
    assert len(similar["data"]) == 5
    assert all(item["signal"]["id"] != one["id"] and item["reason"] for item in similar["data"])
    assert (await api.get("/v1/trends/00000000-0000-4000-8000-000000000000")).status_code == 404


async def test_a_failing_source_is_reported_and_the_others_are_stored(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client, emulator: Any
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as admin:
        rule = {"method": "GET", "path_regex": "^/pinterest/", "status": 401, "times": 50}
        assert (await admin.post("/__admin/faults", json=rule)).status_code == 204
        result = await scrape(api, temporal_client, {"sources": ["google_trends", "pinterest"]})
        await admin.delete("/__admin/faults")
    outcomes = {o.source: o for o in result.sources}
    assert outcomes["google_trends"].ok and outcomes["google_trends"].trends > 0
    assert not outcomes["pinterest"].ok
    assert "AUTH" in (outcomes["pinterest"].error or ""), outcomes["pinterest"]
    page = await all_trends(api)
    assert page["count"] == result.created > 0
    assert {source for s in page["data"] for source in s["sources"]} == {"google_trends"}


async def test_on_demand_scrapes_wait_for_the_cooldown(
    settings: Settings,
    database_url: str,
    temporal_client: Client,
    storage: LocalStorage,
    account: Account,
    workers: WorkerSet,
) -> None:
    patient = settings.model_copy(update={"trend_scrape_cooldown_seconds": 600})
    app = create_app(patient, database_url=database_url, temporal=temporal_client, storage=storage)
    async with app.router.lifespan_context(app), api_client(app, account.headers) as api:
        await scrape(api, temporal_client, {"sources": ["google_trends"]})
        again = await api.post("/v1/trends/scrape", json={})
        assert again.status_code == 429, again.text
        assert again.json()["code"] == "SCRAPE_TOO_SOON"
        assert 590 <= int(again.headers["Retry-After"]) <= 600


async def tenant_listings(api: httpx.AsyncClient) -> list[int]:
    """The Etsy listing ids of the tenant's recorded listings."""
    page = (await api.get("/v1/listings", params={"limit": 100})).json()
    return [listing["etsy_listing_id"] for listing in page["data"]]


async def assert_on_etsy(url: str, config: EmulatorConfig, listing_ids: list[int]) -> None:
    """Each listing exists on Etsy, active, once."""
    assert len(set(listing_ids)) == len(listing_ids)
    async with httpx.AsyncClient(base_url=url) as etsy:
        for listing_id in listing_ids:
            url = f"/etsy/v3/application/listings/{listing_id}"
            found = await etsy.get(url, headers=etsy_headers(config))
            while found.status_code == 429:  # the emulator holds Etsy's 10 requests a second
                await asyncio.sleep(float(found.headers.get("Retry-After", "1")))
                found = await etsy.get(url, headers=etsy_headers(config))
            assert found.status_code == 200 and found.json()["state"] == "active", found.text


async def wait_for_campaign(
    api: httpx.AsyncClient, campaign_id: str, timeout: float = 240
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await api.get(f"/v1/campaigns/{campaign_id}")
        view: dict[str, Any] = response.json()
        # A campaign a scrape started is recorded by its first activity, a moment later.
        if response.status_code == 200 and view["status"] == "completed":
            return view
        assert response.status_code in (200, 404), view
        assert time.monotonic() < deadline, view
        await asyncio.sleep(1.0)  # a campaign of ten runs takes a minute or more


async def test_a_campaign_lists_top_k_signals_once_and_a_rerun_makes_no_duplicates(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    temporal_client: Client,
    emulator: Any,
    emulator_config: EmulatorConfig,
) -> None:
    await scrape(api, temporal_client)
    unknown = await api.post(
        "/v1/campaigns", json={"template_id": "00000000-0000-4000-8000-000000000000"}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "TEMPLATE_NOT_FOUND"
    body = {"top_k": 10, "concurrency": 4}
    started = await api.post("/v1/campaigns", json=body, headers={"Idempotency-Key": "camp-1"})
    assert started.status_code == 202, started.text
    campaign = await wait_for_campaign(api, started.json()["id"])
    outcomes = campaign["outcomes"]
    listed = [o for o in outcomes if o["status"] == "completed"]
    assert all(o["status"] in ("completed", "skipped") for o in outcomes), outcomes
    assert all(o["reason"] for o in outcomes if o["status"] == "skipped")
    # `top_k` counts listings: signals passed over on the way do not use it up.
    assert campaign["listings"] == len(listed) == 10, outcomes
    for outcome in listed:
        assert outcome["listing_url"] and outcome["workflow_id"]
        run = (await api.get(f"/v1/workflows/{outcome['workflow_id']}")).json()
        assert run["status"] == "completed" and run["keyword"] == outcome["keyword"]
    listings = await tenant_listings(api)
    assert sorted(listings) == sorted(o["etsy_listing_id"] for o in listed)
    await assert_on_etsy(emulator.url, emulator_config, listings)

    # The same request is the same campaign; a new one passes over every signal already
    # listed (its niche has a brief) and lists only signals of other niches.
    repeat = await api.post("/v1/campaigns", json=body, headers={"Idempotency-Key": "camp-1"})
    assert repeat.json()["id"] == campaign["id"]
    assert repeat.headers["Idempotent-Replayed"] == "true"
    more = {"top_k": 2, "concurrency": 2}
    second = await api.post("/v1/campaigns", json=more, headers={"Idempotency-Key": "camp-2"})
    rerun = await wait_for_campaign(api, second.json()["id"])
    first = {o["signal_id"] for o in listed}
    again = [o for o in rerun["outcomes"] if o["signal_id"] in first]
    assert again and all(o["status"] == "skipped" and o["reason"] for o in again)
    new = [o for o in rerun["outcomes"] if o["status"] == "completed"]
    assert rerun["listings"] == len(new) <= 2
    assert not {o["keyword"] for o in new} & {o["keyword"] for o in listed}
    assert sorted(await tenant_listings(api)) == sorted(
        listings + [o["etsy_listing_id"] for o in new]
    )


async def test_a_cancelled_campaign_says_so_and_skips_what_it_had_not_started(
    api: httpx.AsyncClient, workers: WorkerSet, temporal_client: Client
) -> None:
    await scrape(api, temporal_client, {"sources": ["google_trends", "pinterest"]})
    started = await api.post("/v1/campaigns", json={"top_k": 6, "concurrency": 1})
    assert started.status_code == 202, started.text
    campaign_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while not any(
        o["status"] == "running"
        for o in (await api.get(f"/v1/campaigns/{campaign_id}")).json()["outcomes"]
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    await temporal_client.get_workflow_handle(campaign_id).cancel()
    deadline = time.monotonic() + 60
    while (view := (await api.get(f"/v1/campaigns/{campaign_id}")).json())["status"] == "running":
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.2)
    assert view["status"] == "cancelled"
    skipped = [o for o in view["outcomes"] if o["status"] == "skipped"]
    assert skipped and all(o["reason"].startswith("not started:") for o in skipped)
    assert not [o for o in view["outcomes"] if o["status"] == "pending"]
    # A listing run under way (at most one) outlives the campaign and lists.
    for running in [o for o in view["outcomes"] if o["status"] == "running"]:
        child = temporal_client.get_workflow_handle(running["workflow_id"])
        await asyncio.wait_for(child.result(), timeout=120)
        run = (await api.get(f"/v1/workflows/{running['workflow_id']}")).json()
        assert run["status"] == "completed", run
