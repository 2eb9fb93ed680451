"""The input-hygiene middleware's edges, as ASGI calls: chunked bodies, many problems,
a client that leaves mid-body; and `pod demo`'s wording of error answers."""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from api.hygiene import InputHygieneMiddleware
from cli.demo import describe_error, error_line


def http_scope(headers: list[tuple[bytes, bytes]], path: str = "/v1/x") -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": headers,
    }


async def call(scope: Scope, messages: Sequence[Message]) -> tuple[list[Message], list[Message]]:
    """Run the middleware over `messages`; return what it sent and what the app received."""
    received: list[Message] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        received.append(await receive())  # what comes after the body: the disconnect
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    pending = list(messages)

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await InputHygieneMiddleware(app)(scope, receive, send)
    return sent, received


JSON = (b"content-type", b"application/json")


async def test_a_chunked_body_is_read_whole_and_given_to_the_app_once() -> None:
    scope = http_scope([JSON, (b"transfer-encoding", b"chunked")])
    chunks = [
        {"type": "http.request", "body": b'{"keyword": ', "more_body": True},
        {"type": "http.request", "body": b'"cat dad"}', "more_body": False},
    ]
    sent, received = await call(scope, chunks)
    assert sent[0]["status"] == 200
    assert received == [
        {"type": "http.request", "body": b'{"keyword": "cat dad"}', "more_body": False},
        {"type": "http.disconnect"},
    ]


async def test_a_client_that_leaves_mid_body_reaches_the_app_as_a_disconnect() -> None:
    scope = http_scope([JSON, (b"content-length", b"40")])
    sent, received = await call(
        scope,
        [
            {"type": "http.request", "body": b'{"a": "b"}', "more_body": True},
            {"type": "http.disconnect"},
        ],
    )
    # The body so far, then the disconnect the server reported while it was read.
    assert received == [
        {"type": "http.request", "body": b'{"a": "b"}', "more_body": False},
        {"type": "http.disconnect"},
    ]
    assert sent[0]["status"] == 200  # what the app answers; the server drops it


async def test_at_most_ten_problems_are_named() -> None:
    body = json.dumps({f"f{i}": "\x00" for i in range(25)}).encode()
    scope = http_scope([JSON, (b"content-length", str(len(body)).encode())])
    sent, received = await call(scope, [{"type": "http.request", "body": body}])
    assert sent[0]["status"] == 422 and received == []
    errors = json.loads(sent[1]["body"])["details"]["errors"]
    assert [e["loc"] for e in errors] == [["body", f"f{i}"] for i in range(10)]


async def test_an_empty_body_needs_no_content_type() -> None:
    sent, _ = await call(http_scope([(b"content-length", b"0")]), [{"type": "http.request"}])
    assert sent[0]["status"] == 200


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(
                422,
                json={
                    "code": "VALIDATION_ERROR",
                    "message": "the request is not valid",
                    "details": {"errors": [{"loc": ["body", "keyword"], "message": "too short"}]},
                },
            ),
            "VALIDATION_ERROR: the request is not valid\n  body.keyword: too short",
        ),
        (httpx.Response(409, json={"code": "INVALID_STATE", "message": "no"}), "INVALID_STATE: no"),
        (httpx.Response(502, text="<html>bad gateway</html>"), "<html>bad gateway</html>"),
        (httpx.Response(500, json=["not", "ours"]), '["not","ours"]'),
    ],
)
def test_demo_words_an_error_answer(response: httpx.Response, expected: str) -> None:
    assert describe_error(response) == expected


def test_demo_words_a_runs_error() -> None:
    assert error_line({"code": "VENDOR_ERROR", "message": "Etsy said 500"}) == (
        "VENDOR_ERROR: Etsy said 500"
    )
    assert error_line("plain") == "plain"
