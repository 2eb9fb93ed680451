"""`parse_competition` on a findAllListingsActive answer and answers that are not one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from domain.trends import Competition
from integrations.errors import VendorError
from integrations.trends.etsy_search import EtsySearchClient, parse_competition
from integrations.trends.feed import MalformedFeed

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_normal_answer() -> None:
    body = (FIXTURES / "etsy_listings_active.json").read_bytes()
    assert parse_competition("cat mom shirt", body) == Competition(
        keyword="cat mom shirt",
        listing_count=12_873,
        sampled=5,
        # USD is the most common currency: 19.99, 24.99, 31.50 (EUR 22.00 and the price
        # with divisor 0 are left out).
        median_price=24.99,
        mean_favorers=40.0,  # 120, 30, 0, 10 (-5 is no count)
        newest_listing_at="2025-03-10T10:00:00+00:00",  # year 5138 is no real date
    )


def test_no_results_still_counts() -> None:
    assert parse_competition("x", {"count": 0, "results": []}) == Competition("x", 0)
    assert parse_competition("x", {"count": 3, "results": "nope"}) == Competition("x", 3)


def test_results_without_valid_numbers_are_left_out_of_each_number() -> None:
    results = [
        {"price": {"amount": float("nan"), "divisor": 100}, "num_favorers": float("inf")},
        {"price": "19.99", "num_favorers": "12", "created_timestamp": "1741600800"},
        {"price": {"amount": 1500, "divisor": 100}, "num_favorers": 10**400},
        "not a listing",
    ]
    assert parse_competition("x", {"count": 4, "results": results}) == Competition(
        keyword="x", listing_count=4, sampled=3, median_price=15.0
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>503</html>", "not JSON (JSONDecodeError)"),
        (b"[]", "answer is list, not an object"),
        (b'{"results": []}', "answer has no count of listings"),
        (b'{"count": -5, "results": []}', "answer has no count of listings"),
        (b'{"count": 1.5}', "answer has no count of listings"),
        (b'{"count": "12873"}', "answer has no count of listings"),
        (b'{"count": NaN}', "answer has no count of listings"),
        (json.dumps({"count": 10**400}).encode(), "answer has no count of listings"),
        (b'{"error": "Invalid API key"}', "answer has no count of listings"),
    ],
)
def test_an_answer_without_a_count_is_refused(body: bytes, reason: str) -> None:
    # Reading a broken answer as "0 listings" would call a crowded niche empty.
    with pytest.raises(MalformedFeed) as refused:
        parse_competition("x", body)
    assert str(refused.value) == reason


async def test_the_client_refuses_an_answer_without_a_count() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"results": []})

    client = EtsySearchClient(
        base_url="https://etsy.test/v3",
        keystring="key",
        shared_secret="secret",
        transport=httpx.MockTransport(handler),
    )
    try:
        with pytest.raises(VendorError) as refused:
            await client.competition("Dog Dad")
    finally:
        await client.aclose()
    assert refused.value.code == "ETSY_BAD_RESPONSE" and not refused.value.retryable
    assert sent[0].headers["x-api-key"] == "key:secret"
    assert sent[0].url.path == "/v3/application/listings/active"
    assert dict(sent[0].url.params) == {"keywords": "dog dad", "limit": "100", "sort_on": "score"}
