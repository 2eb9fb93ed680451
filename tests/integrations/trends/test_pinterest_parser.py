"""`parse_top_keywords` on the documented answer, the 10001 overflow and hostile answers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from domain.trends import ScrapedTrend
from integrations.errors import VendorError
from integrations.trends.pinterest import PinterestTrendsClient, parse_top_keywords

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_normal_answer_with_an_overflow() -> None:
    batch = parse_top_keywords((FIXTURES / "pinterest_growing.json").read_bytes(), "growing")
    assert batch.source == "pinterest"
    assert batch.trends == [
        ScrapedTrend(
            source="pinterest",
            keyword="fathers day gift ideas",
            growth_pct=10_000,  # 10001 is Pinterest's "more than 10000"
            engagement=100,
            observed_at="2025-06-14T00:00:00+00:00",
            extra={"rank": 1, "growth_capped": True},
        ),
        ScrapedTrend(
            source="pinterest",
            keyword="cat mom funny",
            growth_pct=180,
            engagement=73,  # the newest date's value, whatever the key order
            observed_at="2025-06-14T00:00:00+00:00",
            extra={"rank": 2},
        ),
        ScrapedTrend(
            source="pinterest",
            keyword="plant mom",
            growth_pct=-12,  # a fall is a real growth value
            # 150 is out of 0-100, "x" is no number, Feb 30 is no date: 05-31 is the newest.
            engagement=35,
            observed_at="2025-05-31T00:00:00+00:00",
            extra={"rank": 3},
        ),
        ScrapedTrend(
            source="pinterest",
            keyword="hockey mom",
            growth_pct=None,
            engagement=None,
            observed_at=None,
            extra={"rank": 5},
        ),
    ]
    assert batch.skipped == [
        "trend 4: no keyword",
        "trend 5 ('hockey mom'): growth '85%' left out",
        "trend 6: not an object",
    ]


@pytest.mark.parametrize(
    ("trend_type", "growth", "seasonal"),
    [
        ("growing", 180, False),
        ("monthly", 180, False),
        ("seasonal", 180, True),
        ("yearly", 320, False),
    ],
)
def test_the_growth_follows_the_trend_type(trend_type: str, growth: float, seasonal: bool) -> None:
    body = json.dumps(
        {"trends": [{"keyword": "cat mom funny", "pct_growth_mom": 180, "pct_growth_yoy": 320}]}
    )
    [trend] = parse_top_keywords(body, trend_type).trends
    assert (trend.growth_pct, trend.seasonal) == (growth, seasonal)


def test_a_yearly_overflow_is_capped_too() -> None:
    body = {"trends": [{"keyword": "pickleball", "pct_growth_mom": 5, "pct_growth_yoy": 10001}]}
    [trend] = parse_top_keywords(body, "yearly").trends
    assert (trend.growth_pct, trend.extra) == (10_000, {"rank": 1, "growth_capped": True})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"trends": [', "answer is not JSON (JSONDecodeError)"),
        (b"", "answer is not JSON (JSONDecodeError)"),
        (b'{"trends": "cat mom"}', "answer's trends are str, not a list"),
        (b'{"items": []}', "answer's trends are NoneType, not a list"),
        (
            b'{"code": 2, "message": "Authentication failed."}',
            "answer's trends are NoneType, not a list",
        ),
        (b"[]", "answer's trends are NoneType, not a list"),
    ],
)
def test_answers_of_the_wrong_shape_give_a_reason(body: bytes, reason: str) -> None:
    batch = parse_top_keywords(body)
    assert (batch.trends, batch.skipped) == ([], [reason])


def test_an_empty_answer() -> None:
    batch = parse_top_keywords(b'{"trends": []}')
    assert (batch.trends, batch.skipped) == ([], [])


def test_nan_huge_and_boolean_growth_is_left_out() -> None:
    body = (
        '{"trends": ['
        '{"keyword": "a1", "pct_growth_mom": NaN},'
        '{"keyword": "a2", "pct_growth_mom": Infinity},'
        '{"keyword": "a3", "pct_growth_mom": 10002},'
        '{"keyword": "a4", "pct_growth_mom": -10001},'
        f'{{"keyword": "a5", "pct_growth_mom": {10**400}}},'
        '{"keyword": "a6", "pct_growth_mom": true}'
        "]}"
    )
    batch = parse_top_keywords(body)
    assert [(t.keyword, t.growth_pct) for t in batch.trends] == [
        (f"a{n}", None) for n in range(1, 7)
    ]
    assert [reason.split(":")[0] for reason in batch.skipped] == [
        f"trend {n} ('a{n}')" for n in range(1, 7)
    ]


def test_hostile_keywords_are_bounded_and_cleaned() -> None:
    body = {
        "trends": [
            {"keyword": "b" * 10_000_000},
            {"keyword": "cat\x00 mom\u200b\n funny\x7f"},
            {"keyword": "\x00\x01\u200b"},
            {"keyword": 42},
        ]
    }
    batch = parse_top_keywords(body)
    assert [trend.keyword for trend in batch.trends] == ["b" * 200, "cat mom funny"]
    assert batch.skipped == ["trend 3: no keyword", "trend 4: no keyword"]


async def test_the_client_sends_the_token_and_maps_errors() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, text="<html>upstream connect error</html>")

    client = PinterestTrendsClient(
        base_url="https://pinterest.test/v5",
        access_token="token-123",
        rate_per_second=1000,
        backoff_base=0.01,
        transport=httpx.MockTransport(handler),
    )
    try:
        with pytest.raises(VendorError) as down:
            await client.top_keywords("GB+IE", "monthly", limit=10)
    finally:
        await client.aclose()
    assert down.value.code == "PINTEREST_UNAVAILABLE" and down.value.retryable
    assert "upstream connect error" in down.value.message
    assert len(sent) == 3  # retried: a GET repeats safely
    assert sent[0].url.path == "/v5/trends/keywords/GB+IE/top/monthly"
    assert sent[0].url.params["limit"] == "10"
    assert sent[0].headers["authorization"] == "Bearer token-123"
