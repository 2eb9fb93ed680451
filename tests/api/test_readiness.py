"""`/readyz` answers 200 when the database, Temporal and storage each answer, and 503
`NOT_READY` naming the parts that do not (a load balancer takes the process out)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from core.storage import LocalStorage
from tests.conftest import api_client


async def test_ready_when_every_part_answers(app: FastAPI) -> None:
    async with api_client(app) as anyone:
        answer = await anyone.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "ready",
        "checks": {"database": "ok", "temporal": "ok", "storage": "ok"},
    }


async def test_not_ready_names_what_is_down(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("storage cannot be a directory under a file")
    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    app = create_app(
        settings, database_url=database_url, temporal=nowhere, storage=LocalStorage(blocked / "s")
    )
    async with app.router.lifespan_context(app), api_client(app) as anyone:
        answer = await anyone.get("/readyz")
        alive = await anyone.get("/healthz")
    assert answer.status_code == 503 and alive.status_code == 200
    body = answer.json()
    assert body["code"] == "NOT_READY"
    assert body["message"] == "not ready: storage, temporal did not answer"
    checks = body["details"]["checks"]
    assert checks["database"] == "ok"
    assert checks["temporal"].startswith("down: ") and checks["storage"].startswith("down: ")
