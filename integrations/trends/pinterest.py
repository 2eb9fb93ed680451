"""Pinterest API v5 trending keywords (`GET {base}/trends/keywords/{region}/top/{type}`).

`external-apis.md` §4c: a bearer token (scope `user_accounts:read`), a region and a trend
type from fixed lists, and `{trends: [{keyword, pct_growth_wow, pct_growth_mom,
pct_growth_yoy, time_series: {date: 0-100}}]}` in rank order. A trend becomes:
- `growth_pct`: the month-on-month growth for growing, monthly and seasonal trends, the
  year-on-year growth for yearly ones. Pinterest caps growth at ±10000 and sends 10001
  for more: that is kept as 10000 with `extra["growth_capped"]`. Growth may be negative
  (a fall), the only number here that may.
- `engagement`: the latest value of the interest time series (0-100), dated by its
  week-end date (`observed_at`).
- `seasonal`: the trend type is `seasonal`; `extra["rank"]` is its place in the answer.
Errors are `{code, message}`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from domain.trends import REGIONS, TREND_TYPES, ScrapedTrend, TrendSource
from integrations.http import VendorHttp
from integrations.trends.feed import (
    MalformedFeed,
    brief,
    clean_keyword,
    clean_text,
    load_json,
    number,
    skip,
)
from models.trends import SourceBatch

VENDOR = "pinterest"
GROWTH_CAP = 10_000.0
GROWTH_OVERFLOW = 10_001  # Pinterest's marker for growth above the cap
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def growth_field(trend_type: str) -> str:
    """Which growth a trend type is about: the year's for yearly trends, else the month's."""
    return "pct_growth_yoy" if trend_type == "yearly" else "pct_growth_mom"


def _latest_interest(series: object) -> tuple[float | None, str | None]:
    """The newest valid (0-100) point of a time series and its date."""
    if not isinstance(series, dict):
        return None, None
    points: list[tuple[str, float]] = []
    for key, raw in series.items():
        value = number(raw, 0.0, 100.0)
        if isinstance(key, str) and _DATE.match(key) and value is not None:
            try:
                points.append((date.fromisoformat(key).isoformat(), value))
            except ValueError:  # e.g. 2025-02-30
                continue
    if not points:
        return None, None
    day, value = max(points)
    return value, f"{day}T00:00:00+00:00"


def _trend(batch: SourceBatch, rank: int, item: Any, trend_type: str) -> ScrapedTrend | None:
    if not isinstance(item, dict):
        skip(batch, f"trend {rank}: not an object")
        return None
    keyword = clean_keyword(item.get("keyword"))
    if keyword is None:
        skip(batch, f"trend {rank}: no keyword")
        return None
    extra: dict[str, Any] = {"rank": rank}
    raw_growth = item.get(growth_field(trend_type))
    if raw_growth == GROWTH_OVERFLOW and not isinstance(raw_growth, bool):
        growth: float | None = GROWTH_CAP
        extra["growth_capped"] = True
    else:
        growth = number(raw_growth, -GROWTH_CAP, GROWTH_CAP)
        if growth is None and raw_growth is not None:
            skip(batch, f"trend {rank} ({keyword[:60]!r}): growth {brief(raw_growth)} left out")
    engagement, observed_at = _latest_interest(item.get("time_series"))
    return ScrapedTrend(
        source=batch.source,
        keyword=keyword,
        growth_pct=growth,
        engagement=engagement,
        seasonal=trend_type == "seasonal",
        observed_at=observed_at,
        extra=extra,
    )


def parse_top_keywords(body: bytes | str | Any, trend_type: str = "growing") -> SourceBatch:
    """The trends of one answer, in Pinterest's rank order; an unreadable one gives none."""
    batch = SourceBatch(source=TrendSource.PINTEREST.value)
    try:
        payload = load_json(body) if isinstance(body, bytes | str) else body
    except MalformedFeed as exc:
        skip(batch, f"answer is {exc}")
        return batch
    trends = payload.get("trends") if isinstance(payload, dict) else None
    if not isinstance(trends, list):
        skip(batch, f"answer's trends are {type(trends).__name__}, not a list")
        return batch
    for rank, item in enumerate(trends, start=1):
        trend = _trend(batch, rank, item, trend_type)
        if trend is not None:
            batch.trends.append(trend)
    return batch


def _pinterest_error(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """`{code, message}`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        details = {"code": code} if isinstance(code, int) and not isinstance(code, bool) else {}
        return clean_text(body["message"], 200) or "no details", details
    return (clean_text(response.text, 200) or response.reason_phrase or "no details"), {}


class PinterestTrendsClient:
    """Pinterest's top trending keywords for a region and trend type."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        rate_per_second: float = 1.0,
        user_agent: str = "pod-automator/0.1",
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_base: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        limits = (AsyncLimiter(1, 1.0 / rate_per_second),)  # evenly spaced, no bursts
        self._http = VendorHttp(
            VENDOR,
            base_url=base_url,
            headers={
                "authorization": f"Bearer {access_token}",
                "user-agent": user_agent,
                "accept": "application/json",
            },
            limits=lambda _method, _path: limits,
            error_message=_pinterest_error,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            transport=transport,
            secrets=(access_token,),
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self._http.aclose()

    async def top_keywords(
        self, region: str = "US", trend_type: str = "growing", *, limit: int = 50
    ) -> SourceBatch:
        """Up to `limit` (1-50) trending keywords, best ranked first.

        Raises `VendorError` when Pinterest cannot be reached or refuses (401 for a bad
        token); an unreadable answer gives an empty batch with the reason.
        """
        if region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, got {region!r}")
        if trend_type not in TREND_TYPES:
            raise ValueError(f"trend_type must be one of {', '.join(TREND_TYPES)}")
        if not 1 <= limit <= 50:
            raise ValueError(f"limit must be 1-50, got {limit}")
        path = f"trends/keywords/{region}/top/{trend_type}"
        response = await self._http.request("GET", path, params={"limit": limit})
        return parse_top_keywords(response.content, trend_type)
