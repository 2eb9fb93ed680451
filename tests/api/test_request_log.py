"""Each request has an id (the caller's, if it is a plain token) returned in
`X-Request-ID`, and one access line naming its route, status, tenant and caller; an
expected refusal is logged without a traceback."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from fastapi import FastAPI

from core.logging import ContextFields
from tests.accounts import Account
from tests.conftest import api_client


@pytest.fixture(autouse=True)
def context_fields(caplog: pytest.LogCaptureFixture) -> None:
    """The captured lines get the fields `configure_logging`'s handler adds."""
    caplog.handler.addFilter(ContextFields())


async def test_the_callers_request_id_is_returned_and_logged(
    api: httpx.AsyncClient, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.access"):
        answer = await api.get("/v1/workflows/dtl-nope", headers={"X-Request-ID": "abc-123"})
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] == "abc-123"
    (line,) = [r for r in caplog.records if r.name == "api.access"]
    assert line.getMessage() == "GET /v1/workflows/{workflow_id} 404"
    assert line.request_id == "abc-123"  # type: ignore[attr-defined]
    assert line.tenant_id == account.tenant_id  # type: ignore[attr-defined]
    assert line.key_id and line.member_id == str(account.owner_id)  # type: ignore[attr-defined]
    assert line.http_route == "/v1/workflows/{workflow_id}"  # type: ignore[attr-defined]
    assert line.http_status == 404 and line.duration_ms >= 0  # type: ignore[attr-defined]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("given", ["has space", "x" * 129, "bad\u00e9"])
async def test_a_request_id_that_is_not_a_plain_token_is_replaced(
    api: httpx.AsyncClient, given: str
) -> None:
    answer = await api.get("/healthz", headers={b"X-Request-ID": given.encode("utf-8")})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


async def test_refusals_before_the_app_runs_have_an_id_too(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async with api_client(app) as anonymous:
        with caplog.at_level(logging.INFO, logger="api.access"):
            unauthenticated = await anonymous.get("/v1/listings")
            too_large = await anonymous.post(
                "/v1/workflows/design-to-listing",
                content=b"x" * (app.state.settings.api_max_body_bytes + 1),
                headers={"content-type": "application/json"},
            )
    assert unauthenticated.status_code == 401 and too_large.status_code == 413
    ids = {unauthenticated.headers["x-request-id"], too_large.headers["x-request-id"]}
    assert len(ids) == 2
    lines = [r for r in caplog.records if r.name == "api.access"]
    assert [r.http_status for r in lines] == [401, 413]  # type: ignore[attr-defined]
    assert {r.request_id for r in lines} == ids  # type: ignore[attr-defined]
    assert not any(getattr(r, "tenant_id", None) for r in lines)
