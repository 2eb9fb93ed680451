"""Every side-effecting vendor call loses its answer once (the vendor acted, the client
saw a 503): retries must find what was made instead of making it again."""

from __future__ import annotations

import httpx

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig
from tests.e2e.helpers import LISTING_PHOTOS, vendor_counts, wait_for_end
from tests.stack import WorkerSet

LOST_ANSWERS = [
    ("POST", r"/printify/v1/uploads/images\.json$"),
    ("POST", r"/printify/v1/shops/\d+/products\.json$"),
    ("POST", r"/publish\.json$"),
    ("POST", r"/etsy/v3/application/shops/\d+/listings$"),
    ("POST", r"/etsy/v3/application/shops/\d+/listings/\d+/images$"),
    ("PATCH", r"/etsy/v3/application/shops/\d+/listings/\d+$"),
    ("POST", r"/publishing_succeeded\.json$"),
]


async def test_lost_vendor_answers_make_no_duplicates(
    api: httpx.AsyncClient,
    workers: WorkerSet,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
    clear_faults: None,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as admin:
        for method, path in LOST_ANSWERS:
            rule = {"method": method, "path_regex": path, "status": 503, "mode": "after"}
            assert (await admin.post("/__admin/faults", json=rule)).status_code == 204

    started = await api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": "lighthouse keeper"},
        headers={"Idempotency-Key": "lost-answers"},
    )
    assert started.status_code == 202, started.text
    view = await wait_for_end(api, started.json()["workflow_id"], timeout=180)
    assert view["status"] == "completed", view

    async with httpx.AsyncClient(base_url=emulator.url) as admin:
        log = (await admin.get("/__admin/requests")).json()
    lost = [entry for entry in log if entry["status"] == 503]
    assert len(lost) == len(LOST_ANSWERS), lost  # every fault fired, so every step was retried

    counts = await vendor_counts(
        emulator.url, emulator_config, view["workflow_id"], view["artifacts"]["title"]
    )
    assert counts == {"uploads": 1, "products": 1, "listings": 1, "listing_images": LISTING_PHOTOS}
