"""`GET /metrics`: open unless METRICS_TOKEN is set, then only with it as a bearer token;
served without the business figures (and `pod_figures_up 0`) while the database is
down. What the figures say after real runs is tests/e2e/test_metrics.py's."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from core.storage import LocalStorage
from tests.conftest import api_client


async def test_metrics_are_open_without_a_token(app: FastAPI) -> None:
    async with api_client(app) as anyone:
        await anyone.get("/healthz")
        answer = await anyone.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "pod_figures_up 1.0" in answer.text
    assert 'http_server_requests_total{method="GET",route="/healthz",status="200"}' in answer.text
    assert "# TYPE pod_runs_started_total counter" in answer.text


async def test_a_metrics_token_is_asked_for_when_set(
    settings: Settings, database_url: str, temporal_client: Client, storage: LocalStorage
) -> None:
    token = "scrape-token-9f3a"
    guarded = settings.model_copy(update={"metrics_token": SecretStr(token)})
    app = create_app(guarded, database_url=database_url, temporal=temporal_client, storage=storage)
    async with app.router.lifespan_context(app), api_client(app) as anyone:
        refused = await anyone.get("/metrics")
        wrong = await anyone.get("/metrics", headers={"Authorization": "Bearer nope"})
        allowed = await anyone.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == wrong.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    assert token not in refused.text + wrong.text
    assert allowed.status_code == 200 and "pod_figures_up 1.0" in allowed.text


async def test_without_the_database_the_request_series_are_still_served(
    settings: Settings, temporal_client: Client, tmp_path: Path
) -> None:
    nowhere = "postgresql://pod@127.0.0.1:1/pod"
    app = create_app(
        settings,
        database_url=nowhere,
        temporal=temporal_client,
        storage=LocalStorage(tmp_path / "s"),
    )
    async with app.router.lifespan_context(app), api_client(app) as anyone:
        await anyone.get("/healthz")
        answer = await anyone.get("/metrics")
    assert answer.status_code == 200
    assert "pod_figures_up 0.0" in answer.text
    assert 'route="/healthz"' in answer.text
    assert "pod_runs_started_total" not in answer.text
