"""Etsy search as the competition signal: findAllListingsActive for one keyword.

`GET {etsy_base}/application/listings/active?keywords=…&limit=100&sort_on=score` with the
app's `x-api-key: <keystring>:<shared secret>` (no user token: `external-apis.md` §4d).
`count` says how many active listings match (how crowded the niche is); the first page,
in relevance order, gives the median price, the mean favourers and the newest listing.
Each call spends the app's Etsy quota, so the client passes Etsy's app-wide limits when
given them (the worker's shared ones), else its own at `rate_per_second`.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from domain.trends import Competition
from integrations.errors import VendorError
from integrations.etsy import parse_etsy_error
from integrations.http import Limit, VendorHttp, steady_rate
from integrations.trends.feed import (
    MAX_COUNT,
    MalformedFeed,
    clean_keyword,
    iso_from_epoch,
    load_json,
    number,
)

logger = logging.getLogger(__name__)

VENDOR = "etsy"
PAGE_SIZE = 100


def _price(listing: dict[str, Any]) -> tuple[float, str] | None:
    """A listing's price in currency units, and its currency, when it is a valid Money."""
    money = listing.get("price")
    if not isinstance(money, dict):
        return None
    amount = number(money.get("amount"))
    divisor = number(money.get("divisor"), 1.0)
    if amount is None or divisor is None:
        return None
    currency = money.get("currency_code")
    return amount / divisor, currency if isinstance(currency, str) else ""


def parse_competition(keyword: str, body: bytes | str | Any) -> Competition:
    """Etsy's answer for `keyword` as a `Competition`; `MalformedFeed` when there is no
    valid `count` (a missing count must not read as an empty niche).

    Results with an invalid price, favourer count or date are left out of that number
    only. Prices are those of the most common currency, so currencies are not mixed.
    """
    payload = load_json(body) if isinstance(body, bytes | str) else body
    if not isinstance(payload, dict):
        raise MalformedFeed(f"answer is {type(payload).__name__}, not an object")
    count = number(payload.get("count"), 0.0, MAX_COUNT)
    if count is None or count != int(count):
        raise MalformedFeed("answer has no count of listings")
    results = payload.get("results")
    if not isinstance(results, list):
        results = None  # no sample: the count alone still says how crowded the niche is
    listings = (
        [item for item in results if isinstance(item, dict)] if isinstance(results, list) else []
    )
    prices = [price for price in map(_price, listings) if price is not None]
    currency = Counter(code for _, code in prices).most_common(1)
    amounts = [amount for amount, code in prices if currency and code == currency[0][0]]
    favorers = [
        value
        for value in (number(item.get("num_favorers")) for item in listings)
        if value is not None
    ]
    created = [
        moment
        for moment in (iso_from_epoch(item.get("created_timestamp")) for item in listings)
        if moment is not None
    ]
    return Competition(
        keyword=keyword,
        listing_count=int(count),
        sampled=len(listings),
        median_price=round(statistics.median(amounts), 2) if amounts else None,
        mean_favorers=round(statistics.fmean(favorers), 2) if favorers else None,
        newest_listing_at=max(created) if created else None,
    )


class EtsySearchClient:
    """How many active Etsy listings a keyword has, and what they look like."""

    def __init__(
        self,
        *,
        base_url: str,
        keystring: str,
        shared_secret: str,
        rate_per_second: float = 10.0,
        limits: Sequence[Limit] | None = None,
        user_agent: str = "pod-automator/0.1",
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_base: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        scope = tuple(limits) if limits is not None else steady_rate(rate_per_second)
        self._http = VendorHttp(
            VENDOR,
            base_url=base_url,
            headers={
                "x-api-key": f"{keystring}:{shared_secret}",
                "user-agent": user_agent,
                "accept": "application/json",
            },
            limits=lambda _method, _path: scope,
            error_message=parse_etsy_error,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            transport=transport,
            secrets=(keystring, shared_secret),
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self._http.aclose()

    async def competition(self, keyword: str, *, sample: int = PAGE_SIZE) -> Competition:
        """The active listings matching `keyword`: their count and a `sample` (1-100) of the
        most relevant.

        Raises `VendorError` when Etsy cannot be reached or refuses, and
        `VendorError(code="ETSY_BAD_RESPONSE")` for an answer without a valid count.
        """
        cleaned = clean_keyword(keyword)
        if cleaned is None:
            raise ValueError("keyword is empty after cleaning")
        if not 1 <= sample <= PAGE_SIZE:
            raise ValueError(f"sample must be 1-{PAGE_SIZE}, got {sample}")
        params = {"keywords": cleaned, "limit": sample, "sort_on": "score"}
        response = await self._http.request("GET", "application/listings/active", params=params)
        try:
            return parse_competition(cleaned, response.content)
        except MalformedFeed as exc:
            logger.warning("etsy: competition for %r: %s", cleaned, exc)
            raise VendorError(
                VENDOR, f"listings/active for {cleaned!r}: {exc}", code="ETSY_BAD_RESPONSE"
            ) from None
