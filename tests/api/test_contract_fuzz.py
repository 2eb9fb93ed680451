"""Contract fuzzing: schemathesis generates requests from the committed `openapi.yaml`
and sends them, with a valid owner key, to the app in-process (its real lifespan: real
Postgres, real Temporal). Every answer must be a documented status with a body matching
its schema, and nothing may answer 5xx. Data the schema calls valid must be accepted and
data it calls invalid refused, but for the rules the schema cannot state
(`SCHEMA_CANNOT_SAY`, each listed in the README).

`make test` runs a bounded number of examples per operation (`POD_FUZZ_EXAMPLES`,
default 8); `make fuzz` runs the same test with many more.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from core.db import SessionFactory, make_engine, make_session_factory
from core.settings import Settings
from core.storage import LocalStorage
from sandbox.app import EmulatorConfig
from tests.accounts import Account, connect_integrations, create_account

SCHEMA = Path(__file__).resolve().parents[2] / "openapi.yaml"
MAX_EXAMPLES = int(os.environ.get("POD_FUZZ_EXAMPLES", "8"))
README = SCHEMA.parent / "README.md"


def _refusal(response: Any) -> tuple[str, list[dict[str, Any]]]:
    """The error code of an answer and, for a validation error, its errors."""
    try:
        body = response.json()
    except ValueError:
        return "", []
    if not isinstance(body, dict):
        return "", []
    errors = (body.get("details") or {}).get("errors") or []
    return str(body.get("code", "")), [e for e in errors if isinstance(e, dict)]


def _only(errors: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool]) -> bool:
    return bool(errors) and all(match(error) for error in errors)


# The API's rules that `openapi.yaml` cannot state, by the name the README lists them
# under ("What the schema cannot say"): an answer one of them explains is no failure
# of the positive (valid data accepted) or negative (invalid data refused) checks.
Explains = Callable[[str, int, str, list[dict[str, Any]], schemathesis.Case], bool]
SCHEMA_CANNOT_SAY: dict[str, Explains] = {
    "Plan limits": lambda op, status, code, errors, case: (
        status == 402 and code == "QUOTA_EXCEEDED"
    ),
    "The OAuth callback's state": lambda op, status, code, errors, case: (
        op == "GET /v1/integrations/etsy/callback"
        and status == 400
        and code in ("OAUTH_DENIED", "OAUTH_STATE_INVALID")
    ),
    "Schedule frequency": lambda op, status, code, errors, case: code == "SCHEDULE_TOO_FREQUENT",
    "Cron syntax": lambda op, status, code, errors, case: code == "SCHEDULE_CRON_INVALID",
    "A token's expiry": lambda op, status, code, errors, case: _only(
        errors, lambda e: e.get("loc") == ["body", "token_expires_at"]
    ),
    "Control characters in free-form data": lambda op, status, code, errors, case: (
        op == "POST /v1/webhooks/printify"
        and _only(errors, lambda e: e.get("type") == "control_character")
    ),
    "A protected name's letters": lambda op, status, code, errors, case: (
        op == "POST /v1/protected-names" and status == 422 and code == "INVALID_INPUT"
    ),
    "A record the body names": lambda op, status, code, errors, case: (
        status == 422 and code in ("TEMPLATE_NOT_FOUND", "TREND_SIGNAL_NOT_FOUND")
    ),
    "The print provider's catalog": lambda op, status, code, errors, case: (
        status == 422 and code == "TEMPLATE_INVALID"
    ),
    "Lone surrogates": lambda op, status, code, errors, case: (
        _only(errors, lambda e: e.get("type") == "control_character") and _holds_surrogate(case)
    ),
}


def _holds_surrogate(case: schemathesis.Case) -> bool:
    sent = repr((case.path_parameters, case.query, case.body))
    return re.search(r"\\ud[89a-f]", sent) is not None


def _explained(case: schemathesis.Case, response: Any) -> str | None:
    """The rule of `SCHEMA_CANNOT_SAY` that explains this answer, if one does."""
    code, errors = _refusal(response)
    op = case.operation.label
    for rule, explains in SCHEMA_CANNOT_SAY.items():
        if explains(op, response.status_code, code, errors, case):
            return rule
    return None


def _unsent_query(case: schemathesis.Case) -> bool:
    """A query value that is an empty object or list is not sent at all, so the request
    that reached the API did not carry what made it invalid (a generator artefact)."""
    return any(
        value in ({}, []) or (isinstance(value, list) and all(v in ({}, []) for v in value))
        for value in (case.query or {}).values()
    )


@schemathesis.check
def positive_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis's `positive_data_acceptance`, but for the rules the schema cannot say."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        if _explained(case, response) is None:
            raise
        return None


@schemathesis.check
def negative_data_refused(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis's `negative_data_rejection`, but for a query value never sent."""
    try:
        return negative_data_rejection(ctx, response, case)
    except Failure:
        if _unsent_query(case):
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    positive_data_accepted,
    negative_data_refused,
]

schema = schemathesis.openapi.from_path(SCHEMA)
schema.config.seed = int(os.environ.get("POD_FUZZ_SEED", "20261126"))


@asynccontextmanager
async def _sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    """Sessions on an engine of their own, for work outside the app's event loop."""
    engine = make_engine(database_url, pool_size=1)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def _fuzz_account(database_url: str, settings: Settings, config: EmulatorConfig) -> Account:
    async with _sessions(database_url) as sessions:
        # A small workflow quota: generated starts soon meet 402, which is documented.
        return await create_account(
            sessions, settings.cipher, config, plan="pro", limits={"workflows_per_month": 3}
        )


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
    case: schemathesis.Case,
    fuzz_app: FastAPI,
    fuzz_account: Account,
    database_url: str,
    settings: Settings,
    emulator_config: EmulatorConfig,
) -> None:
    try:
        case.call_and_validate(app=fuzz_app, headers=fuzz_account.headers, checks=CHECKS)
    finally:
        if case.operation.label == RECONNECTS:
            # A generated token now stands for the account's Printify or Etsy, and the
            # vendor refuses it: a start of a later case would answer 502. Put the
            # working tokens back, as a seller would reconnect.
            asyncio.run(_reconnect(database_url, settings, fuzz_account, emulator_config))


# The operation that replaces the account's vendor connection with what it was sent.
RECONNECTS = "PUT /v1/integrations/{vendor}"


async def _reconnect(
    database_url: str, settings: Settings, account: Account, config: EmulatorConfig
) -> None:
    async with _sessions(database_url) as sessions, sessions() as session:
        await connect_integrations(session, settings.cipher, account.tenant_id, config)
        await session.commit()


def test_every_rule_the_schema_cannot_say_is_in_the_readme() -> None:
    readme = README.read_text()
    section = readme.split("### What the schema cannot say", 1)[1].split("\n## ", 1)[0]
    for rule in SCHEMA_CANNOT_SAY:
        assert f"**{rule}**" in section, rule
