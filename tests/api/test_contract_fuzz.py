"""Contract fuzzing: schemathesis generates requests from the committed `openapi.yaml`
and sends them, with a valid owner key, to the app in-process (its real lifespan: real
Postgres, real Temporal). Every answer must be a documented status with a body matching
its schema, and nothing may answer 5xx.

`make test` runs a bounded number of examples per operation (`POD_FUZZ_EXAMPLES`,
default 8); `make fuzz` runs the same test with many more.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.db import make_engine, make_session_factory
from core.settings import Settings
from core.storage import LocalStorage
from sandbox.app import EmulatorConfig
from tests.accounts import Account, create_account

SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"
MAX_EXAMPLES = int(os.environ.get("POD_FUZZ_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_path(SCHEMA)
schema.config.seed = int(os.environ.get("POD_FUZZ_SEED", "20261126"))


async def _fuzz_account(database_url: str, settings: Settings, config: EmulatorConfig) -> Account:
    engine = make_engine(database_url, pool_size=1)
    try:
        # A small workflow quota: generated starts soon meet 402, which is documented.
        return await create_account(
            make_session_factory(engine),
            settings.cipher,
            config,
            plan="pro",
            limits={"workflows_per_month": 3},
        )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def fuzz_account(database_url: str, settings: Settings, emulator_config: EmulatorConfig) -> Account:
    return asyncio.run(_fuzz_account(database_url, settings, emulator_config))


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings, database_url: str, storage: LocalStorage) -> FastAPI:
    # No clients passed in: schemathesis runs the lifespan on its own event loop.
    return create_app(settings, database_url=database_url, storage=storage)


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
        hypothesis.HealthCheck.data_too_large,
    ],
)
def test_every_operation_keeps_its_contract(
    case: schemathesis.Case, fuzz_app: FastAPI, fuzz_account: Account
) -> None:
    case.call_and_validate(app=fuzz_app, headers=fuzz_account.headers, checks=CHECKS)
