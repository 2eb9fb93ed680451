"""A tenant's own protected names through the API: added once per normalised spelling,
listed, removed, and seen by the screen that refuses briefs naming them."""

from __future__ import annotations

import httpx

from activities.providers import build_local_screen, tenant_names
from core.db import SessionFactory
from core.settings import Settings
from sandbox.app import EmulatorConfig
from tests.accounts import create_account


async def test_a_name_is_added_listed_refused_twice_and_deleted(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/v1/protected-names", json={"name": "  Trailhead Co ", "note": "a client's brand"}
    )
    assert created.status_code == 201, created.text
    name = created.json()
    assert (name["name"], name["context"], name["note"]) == ("Trailhead Co", [], "a client's brand")
    assert created.headers["location"] == f"/v1/protected-names/{name['id']}"

    # Another spelling of the same name is the same name.
    again = await api.post("/v1/protected-names", json={"name": "TRAIL-HEAD co."})
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "PROTECTED_NAME_EXISTS"
    assert again.json()["details"]["id"] == name["id"]

    nothing = await api.post("/v1/protected-names", json={"name": "!! --"})
    assert nothing.status_code == 422 and nothing.json()["code"] == "INVALID_INPUT"
    unknown_field = await api.post("/v1/protected-names", json={"name": "x y", "extra": 1})
    assert unknown_field.status_code == 422

    summit = await api.post(
        "/v1/protected-names", json={"name": "Summit", "context": ["Logo", "apparel", "logo"]}
    )
    assert summit.status_code == 201 and summit.json()["context"] == ["logo", "apparel"]

    page = (await api.get("/v1/protected-names", params={"limit": 1})).json()
    assert page["count"] == 2 and [n["name"] for n in page["data"]] == ["Summit"]

    assert (await api.delete(f"/v1/protected-names/{name['id']}")).status_code == 204
    gone = await api.delete(f"/v1/protected-names/{name['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "NOT_FOUND"
    assert [n["name"] for n in (await api.get("/v1/protected-names")).json()["data"]] == ["Summit"]


async def test_the_screen_refuses_the_tenants_names_and_only_its_own(
    api: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    tenant: str,
    emulator_config: EmulatorConfig,
) -> None:
    for body in ({"name": "Trailhead Co"}, {"name": "summit", "context": ["logo"]}):
        assert (await api.post("/v1/protected-names", json=body)).status_code == 201
    screen = build_local_screen(settings)
    own = await tenant_names(sessions, tenant)

    refused = await screen.check({"keyword": "trail head co hiking tee"}, own)
    assert not refused.safe
    assert refused.details["protected_names"] == {
        "Trailhead Co": {"list": "tenant", "category": "custom"}
    }
    assert not (await screen.check({"title": "Summit Logo Hoodie"}, own)).safe
    # An everyday word with context words passes without them.
    assert (await screen.check({"title": "Summit sunrise hiking tee"}, own)).safe

    other = await create_account(sessions, settings.cipher, emulator_config)
    assert await tenant_names(sessions, other.tenant_id) is None
    assert (await screen.check({"keyword": "trailhead co hiking tee"}, None)).safe
