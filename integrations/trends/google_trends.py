"""Google Trends "trending now" RSS (`GET {base}/trending/rss?geo=US`, no auth).

The feed is RSS 2.0 with Google's `ht:` namespace (`external-apis.md` §4a): each item
is a search term (`title`), its approximate searches (`ht:approx_traffic`, "500K+"),
when it trended (`pubDate`, RFC 822) and the news about it (`ht:news_item`). The feed
is unofficial and has no published quota, so the client keeps the last answer per geo
for `cache_seconds` and polls no more often than that.

The XML is parsed with `defusedxml` and no DTD is accepted: entity expansion
(billion laughs) and external entities are refused, never expanded.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeElementTree
import httpx
from aiolimiter import AsyncLimiter

from domain.trends import ScrapedTrend, TrendSource
from integrations.http import VendorHttp
from integrations.trends.feed import (
    brief,
    clean_keyword,
    clean_text,
    error_text,
    http_url,
    iso_utc,
    number,
    skip,
)
from models.trends import SourceBatch

VENDOR = "google_trends"
NAMESPACE = "https://trends.google.com/trending/rss"
_NS = {"ht": NAMESPACE}
GEO = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")  # e.g. US, GB, US-CA
_TRAFFIC = re.compile(r"^([0-9][0-9,]*(?:\.[0-9]+)?)([KMB]?)\+?$", re.IGNORECASE)
_SUFFIX = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_traffic(raw: str | None) -> float | None:
    """Google's approximate searches as a number: "500K+" → 500000, "1,000+" → 1000."""
    if raw is None:
        return None
    match = _TRAFFIC.match(raw.strip())
    if match is None:
        return None
    digits, suffix = match.groups()
    return number(float(digits.replace(",", "")) * _SUFFIX[suffix.upper()])


def _observed_at(raw: str | None) -> str | None:
    try:
        return iso_utc(parsedate_to_datetime((raw or "").strip()))
    except (TypeError, ValueError, IndexError):
        return None


def _item(batch: SourceBatch, index: int, item: Element) -> ScrapedTrend | None:
    keyword = clean_keyword(item.findtext("title"))
    if keyword is None:
        skip(batch, f"item {index}: no title")
        return None
    label = f"item {index} ({keyword[:60]!r})"
    raw_traffic = item.findtext("ht:approx_traffic", namespaces=_NS)
    traffic = parse_traffic(raw_traffic)
    if raw_traffic is not None and traffic is None:
        skip(batch, f"{label}: approx_traffic {brief(raw_traffic)} is no count; traffic left out")
    raw_date = item.findtext("pubDate")
    observed_at = _observed_at(raw_date)
    if raw_date is not None and observed_at is None:
        skip(batch, f"{label}: pubDate {brief(raw_date)} is no date; left out")
    news = item.findall("ht:news_item", _NS)
    urls = [http_url((n.findtext("ht:news_item_url", namespaces=_NS) or "").strip()) for n in news]
    extra: dict[str, object] = {"news_count": len(news)}
    first_title = (
        clean_text(news[0].findtext("ht:news_item_title", namespaces=_NS)) if news else None
    )
    if first_title:
        extra["news_title"] = first_title
    return ScrapedTrend(
        source=batch.source,
        keyword=keyword,
        traffic=traffic,
        observed_at=observed_at,
        url=next((url for url in urls if url), None),
        extra=extra,
    )


def parse_trending_rss(xml_bytes: bytes | str) -> SourceBatch:
    """The trends of one "trending now" feed; an unreadable feed gives none and a reason."""
    batch = SourceBatch(source=TrendSource.GOOGLE_TRENDS.value)
    try:
        root = SafeElementTree.fromstring(xml_bytes, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        skip(batch, f"feed refused: it declares a DTD or entities ({type(exc).__name__})")
        return batch
    except ParseError as exc:
        skip(batch, f"feed is not XML ({clean_text(str(exc), 80)})")
        return batch
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        skip(batch, f"feed is not RSS 2.0: root {brief(root.tag)} has no <channel>")
        return batch
    for index, item in enumerate(channel.findall("item"), start=1):
        trend = _item(batch, index, item)
        if trend is not None:
            batch.trends.append(trend)
    return batch


class GoogleTrendsClient:
    """The "trending now" feed per geo, each answer kept for `cache_seconds`."""

    def __init__(
        self,
        *,
        base_url: str,
        rate_per_minute: float = 6.0,
        cache_seconds: float = 300.0,
        user_agent: str = "pod-automator/0.1",
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_base: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A bucket of one spreads requests evenly instead of letting a minute's worth burst.
        limits = (AsyncLimiter(1, 60.0 / rate_per_minute),)
        self._http = VendorHttp(
            VENDOR,
            base_url=base_url,
            headers={"user-agent": user_agent, "accept": "application/rss+xml, application/xml"},
            limits=lambda _method, _path: limits,
            error_message=error_text,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            transport=transport,
        )
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, SourceBatch]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self._http.aclose()

    async def trending(self, geo: str = "US") -> SourceBatch:
        """The trending searches of `geo` (ISO 3166 code), from the cache while it is fresh.

        Raises `VendorError` when Google cannot be reached or refuses; a feed that is not
        readable gives an empty batch with the reason.
        """
        if not GEO.match(geo):
            raise ValueError(f"geo must be an ISO 3166 code such as US or GB-ENG, got {geo!r}")
        # One request per geo at a time: callers arriving meanwhile share its answer.
        async with self._locks.setdefault(geo, asyncio.Lock()):
            cached = self._cache.get(geo)
            if cached is not None and self._clock() < cached[0]:
                return copy.deepcopy(cached[1])
            response = await self._http.request("GET", "trending/rss", params={"geo": geo})
            batch = parse_trending_rss(response.content)
            self._cache[geo] = (self._clock() + self._cache_seconds, batch)
            return copy.deepcopy(batch)
