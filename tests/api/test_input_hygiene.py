"""What no field may hold is refused at the edge, typed, before any query (issue 14):
control characters and lone surrogates in the path, the query or a JSON body, bodies that
are not JSON, and offsets past what a page can reach. Each of these answered 500 before
(Postgres cannot store a NUL or a surrogate; an offset past 2^63 overflowed the query)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import FastAPI

from api.hygiene import VENDOR_CALLED
from models.requests import DesignToListingRequest
from tests.conftest import api_client

START = "/v1/workflows/design-to-listing"


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.parametrize(
    "keyword", ["cat\x00dad", "cat\x01dad", "cat\x7fdad", "cat\x9bdad", "cat\ud800dad"]
)
async def test_control_characters_in_a_body_are_422_and_start_nothing(
    api: httpx.AsyncClient, keyword: str
) -> None:
    # json.dumps escapes them (\u0000 ...), as any client's JSON encoder does.
    body = json.dumps({"keyword": keyword})
    response = await api.post(
        START,
        content=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": "hygiene"},
    )
    refused = assert_refused(response, 422, "VALIDATION_ERROR")
    assert refused["details"] == {
        "errors": [
            {
                "loc": ["body", "keyword"],
                "message": "control characters (NUL among them) are not allowed here",
                "type": "control_character",
            }
        ]
    }
    assert (await api.get("/v1/workflows")).json()["count"] == 0


async def test_nul_in_nested_fields_keys_and_reasons_is_named(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/keys", json={"name": "ok", "scopes": ["runs:read\x00"], "bad\x00key": 1}
    )
    errors = assert_refused(response, 422, "VALIDATION_ERROR")["details"]["errors"]  # type: ignore[index]
    assert [error["loc"] for error in errors] == [["body", "scopes", "0"], ["body"]]

    reason = await api.post("/v1/workflows/dtl-x/reject", json={"reason": "too\x00busy"})
    assert_refused(reason, 422, "VALIDATION_ERROR")


async def test_text_may_hold_tabs_and_newlines(api: httpx.AsyncClient) -> None:
    """A body's text may span lines: only the route's own rules apply to it."""
    response = await api.post("/v1/workflows/dtl-none/reject", json={"reason": "too\tbusy\n"})
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/workflows/dtl-a%00b",
        "/v1/listings?cursor=x&status=a%00",
        "/v1/workflows?status=%0a",
        "/v1/workflows?x=%ff",
    ],
)
async def test_control_characters_in_the_path_or_query_are_422(
    api: httpx.AsyncClient, path: str
) -> None:
    assert_refused(await api.get(path), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_is_415(
    api: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Idempotency-Key": "hygiene-415"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await api.post(START, content=b'{"keyword": "cat dad"}', headers=headers)
    refused = assert_refused(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert refused["details"] == {"accepted": ["application/json"]}
    assert (await api.get("/v1/workflows")).json()["count"] == 0


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(api: httpx.AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await api.post(
            "/v1/workflows/dtl-none/reject",
            content=b'{"reason": "no"}',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 404, (content_type, response.text)


async def test_a_body_that_is_not_valid_json_is_still_the_routes_422(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        START,
        content=b'{"keyword": ',
        headers={"Content-Type": "application/json", "Idempotency-Key": "hygiene-bad"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("route", ["/v1/workflows", "/v1/listings"])
async def test_an_offset_past_any_page_is_422(api: httpx.AsyncClient, route: str) -> None:
    response = await api.get(route, params={"offset": 2**63})
    refused = assert_refused(response, 422, "VALIDATION_ERROR")
    assert refused["details"]["errors"][0]["loc"] == ["query", "offset"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/templates", ["GET", "POST"]),
        ("PATCH", "/v1/templates/some-id", ["DELETE", "GET", "PUT"]),
        ("DELETE", "/v1/workflows", ["GET"]),
    ],
)
async def test_405_names_every_method_of_the_path(
    api: httpx.AsyncClient, method: str, path: str, allowed: list[str]
) -> None:
    """Starlette named the methods of the first route that matched the path only."""
    response = await api.request(method, path)
    refused = assert_refused(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == ", ".join(allowed)
    assert refused["details"] == {"allowed": allowed}


@pytest.mark.parametrize("keyword", ["   ", "\t\n", " a "])
async def test_a_keyword_of_spaces_is_too_short(api: httpx.AsyncClient, keyword: str) -> None:
    response = await api.post(
        START, json={"keyword": keyword}, headers={"Idempotency-Key": "hygiene-spaces"}
    )
    errors = assert_refused(response, 422, "VALIDATION_ERROR")["details"]["errors"]  # type: ignore[index]
    assert errors[0]["loc"] == ["body", "keyword"]
    brief = await api.post("/v1/briefs", json={"keyword": keyword})
    assert_refused(brief, 422, "VALIDATION_ERROR")


def test_a_keyword_is_single_spaced() -> None:
    assert DesignToListingRequest(keyword="  cat \t dad\n").keyword == "cat dad"


async def test_reject_needs_no_body(api: httpx.AsyncClient) -> None:
    """Without a body the route looks for the run (404 here), rather than a 422."""
    response = await api.post("/v1/workflows/dtl-none/reject")
    assert_refused(response, 404, "NOT_FOUND")


async def test_a_query_parameter_the_operation_does_not_declare_is_422(
    api: httpx.AsyncClient,
) -> None:
    typo = await api.get("/v1/workflows", params={"limt": "5", "status": "running"})
    errors = assert_refused(typo, 422, "VALIDATION_ERROR")["details"]["errors"]  # type: ignore[index]
    assert errors == [
        {
            "loc": ["query", "limt"],
            "message": "not a parameter of this operation",
            "type": "unknown_parameter",
        }
    ]
    assert (await api.get("/v1/workflows", params={"limit": "5"})).status_code == 200


async def test_every_operation_refuses_a_query_parameter_it_does_not_declare(
    app: FastAPI,
) -> None:
    """Each router makes its routes `KnownQueryRoute`s: one that did not would take any
    query. Checked before the key and the body, so no request needs either."""
    operations = [
        (method.upper(), path, operation["operationId"])
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) > 50
    async with api_client(app) as anyone:
        for method, path, operation_id in operations:
            url = re.sub(r"\{[^}]+\}", "x1", path)
            answer = await anyone.request(method, url, params={"pod_unknown": "1"})
            if operation_id in VENDOR_CALLED:
                assert answer.status_code != 422 or "unknown_parameter" not in answer.text
                continue
            errors = assert_refused(answer, 422, "VALIDATION_ERROR")["details"]["errors"]  # type: ignore[index]
            assert errors == [
                {
                    "loc": ["query", "pod_unknown"],
                    "message": "not a parameter of this operation",
                    "type": "unknown_parameter",
                }
            ], (method, path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("require_approval", 0),  # a number is no boolean
        ("require_approval", "true"),
        ("approval_timeout_seconds", "3600"),  # a string is no integer
        ("approval_timeout_seconds", True),  # nor a boolean
        ("approval_timeout_seconds", 3600.5),
    ],
)
async def test_a_body_is_read_as_the_json_types_its_schema_states(
    api: httpx.AsyncClient, field: str, value: object
) -> None:
    response = await api.post(START, json={"keyword": "otter dad", field: value})
    errors = assert_refused(response, 422, "VALIDATION_ERROR")["details"]["errors"]  # type: ignore[index]
    assert [error["loc"] for error in errors] == [["body", field]]
    assert (await api.get("/v1/workflows")).json()["count"] == 0


def test_an_integral_number_is_an_integer_as_json_schema_says() -> None:
    body = DesignToListingRequest.model_validate(
        {
            "keyword": "otter dad",
            "approval_timeout_seconds": 3600.0,
            "template": {"price_cents": 2500.0},
        }
    )
    assert body.approval_timeout_seconds == 3600 and body.template.price_cents == 2500


@pytest.mark.parametrize("since", ["0", "0.5", "1764547200"])
async def test_a_time_is_iso_8601_never_a_unix_time(api: httpx.AsyncClient, since: str) -> None:
    assert_refused(await api.get("/v1/trends", params={"since": since}), 422, "VALIDATION_ERROR")
    ok = await api.get("/v1/trends", params={"since": "2026-12-01T00:00:00Z"})
    assert ok.status_code == 200, ok.text
