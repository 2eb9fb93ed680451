"""RedditClient's requests and Reddit's limits, with a scripted Reddit (`MockTransport`).

Reddit's window cannot be used up against the emulator in a fast test (100 requests),
so these script the answers: the query sent, the wait for `X-Ratelimit-Reset`, a reset
too far away to sleep through, and a 429 retried after its `Retry-After`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from integrations.errors import VendorError
from integrations.trends.reddit import RedditClient
from integrations.trends.reddit_quota import RedditQuota

USER_AGENT = "server:pod-automator-tests:0.1 (by /u/pod-tests)"


def listing(*names: str, after: str | None = None) -> dict[str, object]:
    children = [
        {
            "kind": "t3",
            "data": {
                "name": name,
                "title": f"{name[3:]} cat mom shirt",
                "score": 1,
                "num_comments": 0,
            },
        }
        for name in names
    ]
    return {"kind": "Listing", "data": {"after": after, "children": children}}


Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **options: float) -> RedditClient:
    return RedditClient(
        base_url="https://reddit.test",
        user_agent=USER_AGENT,
        rate_per_minute=6000,
        backoff_base=0.01,
        transport=httpx.MockTransport(handler),
        **options,  # type: ignore[arg-type]
    )


async def test_the_query_follows_the_listing_and_after() -> None:
    sent: list[httpx.Request] = []
    pages = {None: listing("t3_aa", after="t3_aa"), "t3_aa": listing("t3_bb", "t3_aa")}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    reddit = client(handler)
    try:
        top = await reddit.listing(["etsy", "gifts"], listing="top", period="week", pages=3)
        hot = await reddit.listing(["etsy"], listing="hot", period="week")
    finally:
        await reddit.aclose()
    assert [r.url.path for r in sent] == ["/r/etsy+gifts/top.json"] * 2 + ["/r/etsy/hot.json"]
    assert [dict(r.url.params) for r in sent] == [
        {"limit": "100", "raw_json": "1", "t": "week"},
        {"limit": "100", "raw_json": "1", "t": "week", "after": "t3_aa"},
        {"limit": "100", "raw_json": "1"},  # `t` is for top only
    ]
    assert all(r.headers["user-agent"] == USER_AGENT for r in sent)
    assert [t.extra["id"] for t in top.trends] == ["t3_aa", "t3_bb"]
    assert top.skipped == ["page 2: t3_aa: repeated from an earlier page"]
    assert len(hot.trends) == 1


async def test_a_used_up_window_waits_for_its_reset() -> None:
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        headers = {"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "0.4"}
        return httpx.Response(200, json=listing("t3_aa"), headers=headers)

    reddit = client(handler)
    try:
        await reddit.listing(["etsy"])
        assert reddit.quota.remaining == 0
        await reddit.listing(["etsy"])
    finally:
        await reddit.aclose()
    assert arrivals[1] - arrivals[0] >= 0.35


async def test_a_far_reset_fails_retryably_without_a_request() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "540"}
        return httpx.Response(200, json=listing("t3_aa"), headers=headers)

    reddit = client(handler, max_wait_seconds=5)
    try:
        await reddit.listing(["etsy"])
        with pytest.raises(VendorError) as waiting:
            await reddit.listing(["etsy"])
    finally:
        await reddit.aclose()
    assert calls == 1
    assert waiting.value.code == "REDDIT_RATE_LIMITED" and waiting.value.retryable
    assert waiting.value.retry_after is not None and 530 < waiting.value.retry_after <= 540


async def test_a_429_is_retried_after_retry_after() -> None:
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            body = {"message": "Too Many Requests", "error": 429}
            return httpx.Response(429, json=body, headers={"retry-after": "0.3"})
        return httpx.Response(200, json=listing("t3_aa"))

    reddit = client(handler)
    try:
        batch = await reddit.listing(["etsy"])
    finally:
        await reddit.aclose()
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.25
    assert [t.keyword for t in batch.trends] == ["aa cat mom shirt"]


async def test_429s_that_persist_become_a_vendor_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"message": "Too Many Requests", "error": 429}
        return httpx.Response(429, json=body, headers={"retry-after": "0"})

    reddit = client(handler)
    try:
        with pytest.raises(VendorError) as limited:
            await reddit.listing(["etsy"])
    finally:
        await reddit.aclose()
    assert limited.value.code == "REDDIT_RATE_LIMITED" and limited.value.retryable
    assert "Too Many Requests" in limited.value.message


async def test_a_page_that_is_not_json_ends_the_walk_with_a_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Whoa there, pardner!</html>")

    reddit = client(handler)
    try:
        batch = await reddit.listing(["etsy"], pages=3)
    finally:
        await reddit.aclose()
    assert batch.trends == []
    assert batch.skipped == ["page 1: page is not JSON (JSONDecodeError)"]


def test_the_quota_ignores_answers_without_its_headers() -> None:
    now = [100.0]
    quota = RedditQuota(max_wait=60, clock=lambda: now[0])
    quota.observe({"x-ratelimit-remaining": "nan", "x-ratelimit-reset": "10"})
    quota.observe({"x-ratelimit-remaining": "0"})
    assert (quota.remaining, quota.wait_seconds) == (None, 0.0)
    quota.observe({"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "10"})
    now[0] += 4
    assert quota.wait_seconds == 6.0
    quota.observe({"x-ratelimit-remaining": "3.0", "x-ratelimit-reset": "10"})
    assert quota.wait_seconds == 0.0
