"""Product templates through the API: saved after a catalog check, one default per
tenant, and copied into a run when it starts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.db import SessionFactory
from core.settings import Settings
from models import repositories
from sandbox.app import EmulatorConfig
from tests.accounts import create_account
from tests.conftest import api_client

TEE: dict[str, Any] = {
    "name": "Heavy tee, 40 % margin",
    "blueprint_id": 6,
    "print_provider_id": 99,
    "variant_ids": [12100, 12101, 12102],
    "position": "front",
    "pricing": {"mode": "margin", "percent": 40, "ending_cents": 99},
}
POSTER: dict[str, Any] = {
    "name": "Poster, doubled",
    "blueprint_id": 384,
    "print_provider_id": 1,
    "variant_ids": [45740],
    "pricing": {"mode": "markup", "percent": 100, "ending_cents": 0},
}


async def test_a_template_is_saved_listed_replaced_and_deleted(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/templates", json=TEE)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["pricing"] == {
        "mode": "margin",
        "percent": 40.0,
        "price_cents": 2499,
        "ending_cents": 99,
    }
    assert template["is_default"] is False

    replaced = await api.put(
        f"/v1/templates/{template['id']}", json={**TEE, "variant_ids": [12110], "position": "back"}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["variant_ids"] == [12110]
    assert replaced.json()["position"] == "back"
    assert replaced.json()["created_at"] == template["created_at"]

    listed = (await api.get("/v1/templates")).json()
    assert [t["id"] for t in listed["data"]] == [template["id"]]
    assert (await api.delete(f"/v1/templates/{template['id']}")).status_code == 204
    gone = await api.get(f"/v1/templates/{template['id']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "NOT_FOUND"


async def test_only_one_template_is_the_default(api: httpx.AsyncClient) -> None:
    first = (await api.post("/v1/templates", json={**TEE, "is_default": True})).json()
    second = (await api.post("/v1/templates", json={**POSTER, "is_default": True})).json()

    listed = {t["id"]: t["is_default"] for t in (await api.get("/v1/templates")).json()["data"]}
    assert listed == {first["id"]: False, second["id"]: True}


async def test_a_name_is_used_once_per_tenant(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/templates", json=TEE)).status_code == 201
    again = await api.post("/v1/templates", json={**POSTER, "name": TEE["name"]})
    assert again.status_code == 409
    assert again.json()["code"] == "TEMPLATE_NAME_TAKEN"
    assert (await api.get("/v1/templates")).json()["count"] == 1
    poster = (await api.post("/v1/templates", json=POSTER)).json()
    renamed = await api.put(f"/v1/templates/{poster['id']}", json={**POSTER, "name": TEE["name"]})
    assert renamed.status_code == 409
    assert renamed.json()["code"] == "TEMPLATE_NAME_TAKEN"
    assert renamed.json()["details"] == {"name": TEE["name"]}


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"variant_ids": [12100, 99999]}, {"unknown_variant_ids": [99999]}),
        ({"print_provider_id": 1}, {"blueprint_id": 6, "print_provider_id": 1}),
        (
            {
                "blueprint_id": 384,
                "print_provider_id": 1,
                "variant_ids": [45740],
                "position": "back",
            },
            {"variant_ids": [45740], "position": "back"},
        ),
    ],
)
async def test_a_template_the_catalog_cannot_make_is_refused(
    api: httpx.AsyncClient, change: dict[str, Any], detail: dict[str, Any]
) -> None:
    response = await api.post("/v1/templates", json={**TEE, **change})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "TEMPLATE_INVALID"
    assert response.json()["details"] == detail
    assert (await api.get("/v1/templates")).json()["count"] == 0


@pytest.mark.parametrize(
    "pricing",
    [
        {"mode": "margin", "percent": 95},
        {"mode": "margin", "percent": 0},
        {"mode": "markup", "percent": 10, "ending_cents": 100},
    ],
)
async def test_a_rule_that_cannot_price_is_refused(
    api: httpx.AsyncClient, pricing: dict[str, Any]
) -> None:
    response = await api.post("/v1/templates", json={**TEE, "pricing": pricing})
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_a_run_copies_the_named_or_default_template(
    api: httpx.AsyncClient, sessions: SessionFactory, tenant: str
) -> None:
    named = (await api.post("/v1/templates", json=POSTER)).json()
    default = (await api.post("/v1/templates", json={**TEE, "is_default": True})).json()
    start = "/v1/workflows/design-to-listing"

    by_name = await api.post(
        start,
        json={"keyword": "poster cat", "template_id": named["id"], "require_approval": True},
    )
    by_default = await api.post(start, json={"keyword": "tee cat", "require_approval": True})
    inline = await api.post(
        start,
        json={"keyword": "inline cat", "template": {"price_cents": 1999}, "require_approval": True},
    )
    assert {r.status_code for r in (by_name, by_default, inline)} == {202}
    # Later edits do not reach runs already started.
    await api.put(f"/v1/templates/{named['id']}", json={**POSTER, "variant_ids": [45741]})

    async with sessions() as session:
        runs = {
            name: await repositories.runs.get_run(
                session, tenant_id=tenant, workflow_id=response.json()["workflow_id"]
            )
            for name, response in (("named", by_name), ("default", by_default), ("inline", inline))
        }
    templates = {name: run.input["template"] for name, run in runs.items() if run and run.input}
    assert templates["named"]["template_id"] == named["id"]
    assert templates["named"]["variant_ids"] == [45740]
    assert templates["named"]["pricing"]["mode"] == "markup"
    assert templates["default"]["template_id"] == default["id"]
    assert templates["default"]["pricing"]["percent"] == 40
    assert templates["inline"]["pricing"] is None
    assert templates["inline"]["price_cents"] == 1999
    for response in (by_name, by_default, inline):
        await api.post(f"/v1/workflows/{response.json()['workflow_id']}/cancel")


async def test_a_run_cannot_use_another_tenants_template(
    app: FastAPI,
    api: httpx.AsyncClient,
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    other = await create_account(sessions, settings.cipher, emulator_config)
    async with api_client(app, other.headers) as b:
        theirs = (await b.post("/v1/templates", json=TEE)).json()

    response = await api.post(
        "/v1/workflows/design-to-listing", json={"keyword": "cat mom", "template_id": theirs["id"]}
    )
    both = await api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": "cat mom", "template_id": theirs["id"], "template": {}},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "TEMPLATE_NOT_FOUND"
    assert both.status_code == 422
    assert both.json()["code"] == "VALIDATION_ERROR"
    assert (await api.get("/v1/workflows")).json()["count"] == 0
