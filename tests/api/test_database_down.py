"""While the database cannot be reached, reads and writes answer 503
`DATABASE_UNAVAILABLE` with `Retry-After` (issue 14: they answered 500), over a real
connection refused by a port nothing listens on; and activities report the outage typed."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import ExecuteActivityInput

from activities.errors import DomainErrorInterceptor
from api.app import create_app
from core.db import SessionFactory
from core.http_server import free_port
from core.settings import Settings
from core.storage import LocalStorage
from tests.accounts import Account
from tests.conftest import api_client
from workflows.contract import NON_RETRYABLE

PASSWORD = "s3cret-db-password"
# The stand-in activity reads no input.
NO_INPUT = cast(ExecuteActivityInput, None)


@pytest.fixture
async def no_database(
    settings: Settings, storage: LocalStorage, temporal_client: Client
) -> AsyncIterator[FastAPI]:
    dead = f"postgresql://pod:{PASSWORD}@127.0.0.1:{free_port()}/pod"
    app = create_app(settings, database_url=dead, temporal=temporal_client, storage=storage)
    async with app.router.lifespan_context(app):
        yield app


async def test_reads_and_writes_answer_503_and_name_no_secret(
    no_database: FastAPI, account: Account
) -> None:
    async with api_client(no_database, account.headers) as api:
        for method, path, body in (
            ("GET", "/v1/workflows", None),
            ("GET", "/v1/me", None),
            ("POST", "/v1/protected-names", {"name": "Trailhead Co"}),
        ):
            response = await api.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["code"] == "DATABASE_UNAVAILABLE"
            assert response.headers["Retry-After"] == "5"
            assert PASSWORD not in response.text
        # What needs no database still answers.
        assert (await api.get("/healthz")).status_code == 200


class _DatabaseBackAfter:
    """The activity behind the interceptor: its query finds no database `outages` times."""

    def __init__(self, outages: int) -> None:
        self.outages = outages
        self.runs = 0

    async def execute_activity(self, input: Any) -> Any:
        self.runs += 1
        if self.runs <= self.outages:
            raise sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
        return "done"


def _attempt(seconds: float) -> ActivityEnvironment:
    env = ActivityEnvironment()
    now = datetime.now(UTC)
    env.info = dataclasses.replace(
        env.info,
        started_time=now,
        scheduled_time=now,
        start_to_close_timeout=timedelta(seconds=seconds),
        schedule_to_close_timeout=None,
    )
    return env


async def test_an_activity_waits_for_the_database_within_its_attempt() -> None:
    activity_body = _DatabaseBackAfter(outages=2)
    interceptor = DomainErrorInterceptor().intercept_activity(activity_body)  # type: ignore[arg-type]
    env = _attempt(seconds=30)
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details)

    assert await env.run(interceptor.execute_activity, NO_INPUT) == "done"
    assert activity_body.runs == 3
    assert ("waiting for the database",) in beats


async def test_an_activity_out_of_time_reports_the_outage_typed_and_retryable() -> None:
    activity_body = _DatabaseBackAfter(outages=100)
    interceptor = DomainErrorInterceptor().intercept_activity(activity_body)  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as raised:
        await _attempt(seconds=4).run(interceptor.execute_activity, NO_INPUT)
    assert raised.value.type == "DATABASE_UNAVAILABLE"
    assert raised.value.non_retryable is False
    assert "OperationalError" in raised.value.message
    assert 1 < activity_body.runs < 5


class _StoresANul:
    """An activity whose write the database refuses for its data: Postgres's own error."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.runs = 0

    async def execute_activity(self, input: Any) -> Any:
        self.runs += 1
        async with self.sessions() as session:
            await session.execute(text("SELECT CAST(:reason AS text)"), {"reason": "too\x00busy"})
        return "stored"


async def test_data_the_database_refuses_fails_at_once_typed_and_not_retryable(
    sessions: SessionFactory,
) -> None:
    """A NUL in a reject reason kept `records.update_run` retrying its whole 30 minutes,
    then failing untyped (issue 14)."""
    body = _StoresANul(sessions)
    interceptor = DomainErrorInterceptor().intercept_activity(body)  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as raised:
        await _attempt(seconds=30).run(interceptor.execute_activity, NO_INPUT)
    assert raised.value.type == "DATABASE_REFUSED"
    assert raised.value.non_retryable is True
    assert body.runs == 1
    assert "DATABASE_REFUSED" in NON_RETRYABLE  # the workflows' retry policies agree
