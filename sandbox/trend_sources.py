"""Emulators of the free trend sources (`external-apis.md` §4), for offline scrapes.

- Google Trends "trending now" RSS at `/google-trends/trending/rss?geo=`;
- Reddit listings at `/reddit/r/{a+b}/{top|hot|new|rising}.json`: a generic User-Agent
  (`python-httpx/…`, `python-requests/…`, none) gets Reddit's 429; every answer carries
  `X-Ratelimit-Used/Remaining/Reset` for a budget of `REDDIT_BUDGET` requests per
  agent in each 10-minute window; pages chain through `after`;
- Pinterest v5 trending keywords at `/pinterest/v5/trends/keywords/{region}/top/{type}`:
  401 without the configured bearer token, 400 `{code, message}` for values outside
  Pinterest's lists.
The data (`sandbox.trend_data`) is the same all day, so repeated scrapes merge.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.trend_data import (
    GOOGLE_TRENDS,
    PINTEREST_KEYWORDS,
    PINTEREST_TOKEN_ERROR,
    REDDIT_POSTS,
    RedditPost,
    daily,
    day_start,
)

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

Today = Callable[[], date]
REDDIT_WINDOW = 600  # seconds; Reddit averages its limits over 10 minutes
REDDIT_BUDGET = 100  # per agent and window: unauthenticated traffic gets about 10 a minute
GENERIC_AGENTS = (
    "python-requests",
    "python-httpx",
    "python-urllib",
    "aiohttp",
    "curl/",
    "wget/",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
)
# Pinterest's documented lists (kept here, apart from the client, as the vendor's own).
_REGIONS = """
US CA DE FR ES IT DE+AT+CH GB+IE IT+ES+PT+GR+MT PL+RO+HU+SK+CZ SE+DK+FI+NO NL+BE+LU
AR BR CO MX MX+AR+CO+CL AU+NZ
"""
PINTEREST_REGIONS = frozenset(_REGIONS.split())
PINTEREST_TREND_TYPES = frozenset({"growing", "monthly", "yearly", "seasonal"})


def _today() -> date:
    return datetime.now(UTC).date()


# --- Google Trends -------------------------------------------------------------------------


def trending_rss(day: date, geo: str) -> str:
    """The day's "trending now" feed for `geo` (RSS 2.0 with Google's `ht:` namespace)."""
    midnight = day_start(day)
    items = []
    for index, (term, traffic, news) in enumerate(GOOGLE_TRENDS):
        moment = midnight - 1800 * index - daily(day, geo, term) % 1500
        published = format_datetime(datetime.fromtimestamp(moment, UTC))
        slug = term.replace(" ", "-")
        news_xml = "".join(
            "<ht:news_item>"
            f"<ht:news_item_title>{escape(title)}</ht:news_item_title>"
            f"<ht:news_item_url>https://news.example.com/{slug}/{number}</ht:news_item_url>"
            f"<ht:news_item_source>Example News</ht:news_item_source>"
            "</ht:news_item>"
            for number, title in enumerate(news, start=1)
        )
        items.append(
            f"<item><title>{escape(term)}</title>"
            f"<ht:approx_traffic>{escape(traffic)}</ht:approx_traffic>"
            f"<link>https://trends.google.com/trending/rss?geo={escape(geo)}</link>"
            f"<pubDate>{published}</pubDate>"
            f"<ht:picture>https://news.example.com/{slug}.jpg</ht:picture>"
            f"<ht:picture_source>Example News</ht:picture_source>{news_xml}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:ht="https://trends.google.com/trending/rss" version="2.0"><channel>'
        f"<title>Daily Search Trends</title><description>Recent searches in {escape(geo)}"
        f"</description><link>https://trends.google.com/trending/rss?geo={escape(geo)}</link>"
        f"{''.join(items)}</channel></rss>"
    )


def build_google_trends_router(today: Today = _today) -> APIRouter:
    """Google Trends RSS (mount at `/google-trends`)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/trending/rss")
    def trending(geo: str = "US") -> Response:
        if not re.fullmatch(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", geo):
            return Response("Invalid geo", status_code=400, media_type="text/plain")
        body = trending_rss(today(), geo)
        return Response(body, media_type="application/rss+xml; charset=utf-8")

    return router


# --- Reddit --------------------------------------------------------------------------------


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while value:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
    return out or "0"


def reddit_post(day: date, post: RedditPost) -> dict[str, Any]:
    """One post as Reddit's `t3` thing, its numbers varied by day."""
    post_id = _base36(daily(day, "reddit", post.title) % 36**7)
    score = post.score + daily(day, "score", post.title) % max(1, post.score // 10)
    slug = "_".join(re.findall(r"[a-z0-9]+", post.title.lower()))[:50]
    permalink = f"/r/{post.subreddit}/comments/{post_id}/{slug}/"
    return {
        "kind": "t3",
        "data": {
            "id": post_id,
            "name": f"t3_{post_id}",
            "title": post.title,
            "subreddit": post.subreddit,
            "subreddit_name_prefixed": f"r/{post.subreddit}",
            "author": f"maker_{daily(day, 'author', post.title) % 9000 + 1000}",
            "score": score,
            "ups": score,
            "upvote_ratio": 0.9,
            "num_comments": post.comments,
            "created_utc": float(day_start(day) - int(post.hours_ago * 3600)),
            "permalink": permalink,
            "url": f"https://www.reddit.com{permalink}",
            "over_18": post.over_18,
            "stickied": post.stickied,
            "is_self": True,
            "selftext": "",
        },
    }


def _sort_key(listing: str, now: float) -> Callable[[dict[str, Any]], float]:
    def key(child: dict[str, Any]) -> float:
        data = child["data"]
        if listing == "new":
            return float(data["created_utc"])
        if listing == "rising":
            return float(data["num_comments"])
        if listing == "hot":  # votes, discounted by age
            age_hours = (now - data["created_utc"]) / 3600
            return float(data["score"]) / (age_hours + 2) ** 1.5
        return float(data["score"])

    return key


class RedditWindow:
    """Requests per agent in Reddit's current 10-minute window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[tuple[str, int], int] = {}

    def hit(self, agent: str) -> tuple[bool, dict[str, str]]:
        """Count one request: whether it is within the budget, and the headers to send."""
        now = time.time()
        window = int(now // REDDIT_WINDOW)
        with self._lock:
            used = self._used.get((agent, window), 0)
            allowed = used < REDDIT_BUDGET
            used += allowed
            self._used = {key: n for key, n in self._used.items() if key[1] == window}
            self._used[(agent, window)] = used
        reset = REDDIT_WINDOW - int(now % REDDIT_WINDOW)
        return allowed, {
            "x-ratelimit-used": str(used),
            "x-ratelimit-remaining": f"{float(REDDIT_BUDGET - used):.1f}",
            "x-ratelimit-reset": str(reset),
        }


def _too_many(headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"message": "Too Many Requests", "error": 429}
    return JSONResponse(body, status_code=429, headers=headers)


def build_reddit_router(today: Today = _today) -> APIRouter:
    """Reddit listing JSON (mount at `/reddit`)."""
    router = APIRouter(include_in_schema=False)
    windows = RedditWindow()

    @router.get("/r/{subreddits}/{listing}.json")
    def listing_json(subreddits: str, listing: str, request: Request) -> Response:
        agent = request.headers.get("user-agent", "").strip()
        if not agent or agent.lower().startswith(GENERIC_AGENTS):
            return _too_many()  # Reddit throttles generic agents outright
        allowed, headers = windows.hit(agent)
        if not allowed:
            return _too_many(headers)
        if listing not in ("top", "hot", "new", "rising"):
            return JSONResponse({"message": "Not Found", "error": 404}, 404, headers)
        wanted = {name.lower() for name in subreddits.split("+")}
        day = today()
        posts = [reddit_post(day, p) for p in REDDIT_POSTS if p.subreddit.lower() in wanted]
        if not posts:
            return JSONResponse({"message": "Not Found", "error": 404}, 404, headers)
        try:
            limit = min(100, max(1, int(request.query_params.get("limit", "25"))))
        except ValueError:
            limit = 25
        # Ages count from the day's midnight, so the order holds all day.
        posts.sort(key=_sort_key(listing, day_start(day)), reverse=True)
        names = [post["data"]["name"] for post in posts]
        after = request.query_params.get("after")
        start = names.index(after) + 1 if after in names else (len(names) if after else 0)
        page = posts[start : start + limit]
        more = start + limit < len(posts)
        data = {
            "after": page[-1]["data"]["name"] if page and more else None,
            "before": None,
            "dist": len(page),
            "modhash": "",
            "geo_filter": "",
            "children": page,
        }
        return JSONResponse({"kind": "Listing", "data": data}, headers=headers)

    return router


# --- Pinterest -----------------------------------------------------------------------------


def _week_ends(day: date, weeks: int = 8) -> list[date]:
    """The last `weeks` Saturdays before `day`, oldest first."""
    last = day - timedelta(days=(day.weekday() - 5) % 7 or 7)
    return [last - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def pinterest_trend(day: date, keyword: str, mom: int, yoy: int) -> dict[str, Any]:
    """One trending keyword with its growth and an interest series rising to its peak."""

    def vary(value: int, salt: str) -> int:
        # 10001 is Pinterest's overflow marker: it stays as it is.
        return value if value == 10_001 else value + daily(day, keyword, salt) % 11 - 5

    peak = 60 + daily(day, keyword, "peak") % 41
    dates = _week_ends(day)
    series = {
        week.isoformat(): round(peak * (0.4 + 0.6 * (index + 1) / len(dates)))
        for index, week in enumerate(dates)
    }
    return {
        "keyword": keyword,
        "pct_growth_wow": vary(max(5, mom // 4), "wow"),
        "pct_growth_mom": vary(mom, "mom"),
        "pct_growth_yoy": vary(yoy, "yoy"),
        "time_series": series,
    }


def pinterest_trends(day: date, trend_type: str) -> list[dict[str, Any]]:
    """The day's trends of one type, in rank order."""
    rows = [row for row in PINTEREST_KEYWORDS if trend_type != "seasonal" or row[1]]
    if trend_type == "yearly":
        rows.sort(key=lambda row: row[3], reverse=True)
    elif trend_type == "monthly":  # volume, not growth
        rows.sort(key=lambda row: daily(day, "volume", row[0]))
    else:
        rows.sort(key=lambda row: row[2], reverse=True)
    return [pinterest_trend(day, keyword, mom, yoy) for keyword, _, mom, yoy in rows]


def _pinterest_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def build_pinterest_router(config: EmulatorConfig, today: Today = _today) -> APIRouter:
    """Pinterest v5 trending keywords (mount at `/pinterest/v5`)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/trends/keywords/{region}/top/{trend_type}")
    def trending_keywords(region: str, trend_type: str, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {config.pinterest_token}":
            return JSONResponse(PINTEREST_TOKEN_ERROR, status_code=401)
        invalid = "Invalid trending keywords request parameters"
        if region not in PINTEREST_REGIONS:
            return _pinterest_error(400, 1, f"{invalid}: region {region!r} is not supported")
        if trend_type not in PINTEREST_TREND_TYPES:
            return _pinterest_error(400, 1, f"{invalid}: trend_type {trend_type!r}")
        raw_limit = request.query_params.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 50:
            return _pinterest_error(400, 1, f"{invalid}: limit must be 1-50")
        trends = pinterest_trends(today(), trend_type)[: int(raw_limit)]
        return JSONResponse({"trends": trends})

    return router
