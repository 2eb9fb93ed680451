"""The trend-source emulators over real HTTP: formats, auth, limits, paging, stable data."""

from __future__ import annotations

import io
import secrets
import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import defusedxml.ElementTree as SafeElementTree
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from core.http_server import ThreadedServer
from integrations.etsy import EtsyClient
from sandbox import trend_sources
from sandbox.app import EmulatorConfig
from sandbox.etsy import READINESS_STATE_ID, RETURN_POLICY_ID, SHIPPING_PROFILE_ID

CONFIG = EmulatorConfig()
NS = {"ht": "https://trends.google.com/trending/rss"}
AGENT = {"user-agent": "server:emulator-tests:0.1 (by /u/pod-tests)"}
PINTEREST = {"authorization": f"Bearer {CONFIG.pinterest_token}"}
ETSY_KEY = {"x-api-key": f"{CONFIG.etsy_keystring}:{CONFIG.etsy_shared_secret}"}


def etsy_search(url: str, query: dict[str, str | int]) -> dict[str, Any]:
    """A search on the session's emulator, waiting out a 429 as a client would: runs that
    other tests started may still be spending the key's ten requests a second."""
    for _ in range(5):
        answer = httpx.get(url, params=query, headers=ETSY_KEY)
        if answer.status_code != 429:
            break
        time.sleep(float(answer.headers.get("retry-after", "1")))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def rss_items(body: bytes) -> list[dict[str, str | None]]:
    channel = SafeElementTree.fromstring(body).find("channel")
    return [
        {
            "title": item.findtext("title"),
            "traffic": item.findtext("ht:approx_traffic", namespaces=NS),
            "pubDate": item.findtext("pubDate"),
            "news": item.findtext("ht:news_item/ht:news_item_url", namespaces=NS),
        }
        for item in channel.findall("item")
    ]


# --- Google Trends -------------------------------------------------------------------------


def test_google_rss_is_trending_now_and_stable(emulator: ThreadedServer) -> None:
    answer = httpx.get(f"{emulator.url}/google-trends/trending/rss", params={"geo": "US"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/rss+xml")
    assert b'xmlns:ht="https://trends.google.com/trending/rss"' in answer.content
    items = rss_items(answer.content)
    assert 15 <= len(items) <= 25
    assert items[0] == {
        "title": "funny cat mom shirt",
        "traffic": "200K+",
        "pubDate": items[0]["pubDate"],
        "news": "https://news.example.com/funny-cat-mom-shirt/1",
    }
    now = datetime.now(UTC)
    assert all(parsedate_to_datetime(item["pubDate"] or "") <= now for item in items)
    assert {"100+", "1,000+", "2M+", "500K+"} <= {item["traffic"] for item in items}
    again = httpx.get(f"{emulator.url}/google-trends/trending/rss", params={"geo": "US"})
    assert again.content == answer.content  # the same all day: a second scrape merges


def test_google_rss_refuses_a_bad_geo(emulator: ThreadedServer) -> None:
    answer = httpx.get(f"{emulator.url}/google-trends/trending/rss", params={"geo": "usa"})
    assert answer.status_code == 400


def test_another_day_moves_the_dates_not_the_niches() -> None:
    days = iter([date(2025, 3, 10), date(2025, 3, 11)])
    app = FastAPI()
    app.include_router(trend_sources.build_google_trends_router(lambda: next(days)))
    with TestClient(app) as client:
        first, second = (rss_items(client.get("/trending/rss").content) for _ in range(2))
    assert [i["title"] for i in first] == [i["title"] for i in second]
    assert first[0]["pubDate"] != second[0]["pubDate"]
    assert parsedate_to_datetime(first[0]["pubDate"] or "").date() == date(2025, 3, 9)


# --- Reddit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent", [None, "python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1", ""]
)
def test_reddit_throttles_generic_agents(emulator: ThreadedServer, agent: str | None) -> None:
    headers = {"user-agent": agent} if agent is not None else {}  # None: httpx's own
    answer = httpx.get(f"{emulator.url}/reddit/r/etsy/top.json", headers=headers)
    assert answer.status_code == 429
    assert answer.json() == {"message": "Too Many Requests", "error": 429}


def test_reddit_listing_shape_and_rate_headers(emulator: ThreadedServer) -> None:
    agent = {"user-agent": f"server:emulator-tests:{secrets.token_hex(3)} (by /u/pod-tests)"}
    url = f"{emulator.url}/reddit/r/printondemand+etsy/top.json"
    first = httpx.get(url, params={"t": "day", "limit": 100}, headers=agent)
    second = httpx.get(url, params={"t": "day", "limit": 100}, headers=agent)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()  # stable within the day
    assert first.headers["x-ratelimit-used"] == "1" and second.headers["x-ratelimit-used"] == "2"
    assert float(second.headers["x-ratelimit-remaining"]) == 98.0
    assert 0 < int(second.headers["x-ratelimit-reset"]) <= 600
    listing = first.json()
    assert listing["kind"] == "Listing" and listing["data"]["after"] is None
    children = listing["data"]["children"]
    assert len(children) == 13 and {child["kind"] for child in children} == {"t3"}
    post = children[0]["data"]
    assert set(post) >= {"id", "name", "title", "subreddit", "score", "num_comments"}
    assert post["name"] == f"t3_{post['id']}" and post["permalink"].startswith("/r/")
    scores = [child["data"]["score"] for child in children]
    assert scores == sorted(scores, reverse=True)
    assert sum(child["data"]["over_18"] for child in children) == 1
    assert sum(child["data"]["stickied"] for child in children) == 1
    titles = {child["data"]["title"] for child in children}
    assert "My cat mom shirt design finally sold!" in titles


def test_reddit_pages_chain_through_after(emulator: ThreadedServer) -> None:
    url = f"{emulator.url}/reddit/r/gifts+CatsAreAssholes/new.json"
    seen: list[str] = []
    after: str | None = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 4} | ({"after": after} if after else {})
        data = httpx.get(url, params=params, headers=AGENT).json()["data"]
        seen += [child["data"]["name"] for child in data["children"]]
        after = data["after"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 10  # 6 + 4 posts, in pages of 4, 4 and 2
    unknown = httpx.get(url, params={"after": "t3_zzzzzzz"}, headers=AGENT).json()["data"]
    assert unknown["children"] == [] and unknown["after"] is None


def test_reddit_unknown_subreddits_and_listings(emulator: ThreadedServer) -> None:
    base = f"{emulator.url}/reddit/r"
    assert httpx.get(f"{base}/nosuchsub/top.json", headers=AGENT).status_code == 404
    assert httpx.get(f"{base}/etsy/best.json", headers=AGENT).status_code == 404
    mixed = httpx.get(f"{base}/etsy+nosuchsub/hot.json", headers=AGENT)
    assert mixed.status_code == 200 and len(mixed.json()["data"]["children"]) == 6


def test_reddit_answers_429_once_the_window_is_used_up(
    emulator: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trend_sources, "REDDIT_BUDGET", 2)
    agent = {"user-agent": f"server:budget-test:{secrets.token_hex(3)} (by /u/pod-tests)"}
    url = f"{emulator.url}/reddit/r/etsy/top.json"
    statuses = [httpx.get(url, headers=agent).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = httpx.get(url, headers=agent)
    assert refused.headers["x-ratelimit-remaining"] == "0.0"
    assert refused.json() == {"message": "Too Many Requests", "error": 429}


# --- Pinterest -----------------------------------------------------------------------------


def test_pinterest_needs_its_bearer_token(emulator: ThreadedServer) -> None:
    url = f"{emulator.url}/pinterest/v5/trends/keywords/US/top/growing"
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "local"}):
        answer = httpx.get(url, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"code": 2, "message": "Authentication failed."}


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("GB/top/growing", {}, "region 'GB'"),
        ("US/top/weekly", {}, "trend_type 'weekly'"),
        ("US/top/growing", {"limit": "51"}, "limit must be 1-50"),
        ("US/top/growing", {"limit": "x"}, "limit must be 1-50"),
    ],
)
def test_pinterest_refuses_values_outside_its_lists(
    emulator: ThreadedServer, path: str, query: dict[str, str], field: str
) -> None:
    url = f"{emulator.url}/pinterest/v5/trends/keywords/{path}"
    answer = httpx.get(url, params=query, headers=PINTEREST)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 1
    assert body["message"].startswith("Invalid trending keywords request parameters")
    assert field in body["message"]


def test_pinterest_trends_in_rank_order(emulator: ThreadedServer) -> None:
    base = f"{emulator.url}/pinterest/v5/trends/keywords"
    growing = httpx.get(f"{base}/US/top/growing", headers=PINTEREST).json()["trends"]
    assert len(growing) == 20
    assert growing[0]["keyword"] == "fathers day gift ideas"
    assert growing[0]["pct_growth_mom"] == 10001  # the overflow marker, unvaried
    moms = [trend["pct_growth_mom"] for trend in growing]
    assert moms[1] >= moms[-1]
    series = growing[1]["time_series"]
    days = [date.fromisoformat(day) for day in series]
    assert len(days) == 8 and all(day.weekday() == 5 for day in days)  # week-end dates
    assert max(days) < datetime.now(UTC).date()
    assert all(0 <= value <= 100 for value in series.values())
    seasonal = httpx.get(
        f"{base}/DE+AT+CH/top/seasonal", params={"limit": 3}, headers=PINTEREST
    ).json()["trends"]
    assert len(seasonal) == 3
    assert httpx.get(f"{base}/US/top/growing", headers=PINTEREST).json()["trends"] == growing


def test_the_sources_carry_near_duplicates_and_near_misses(emulator: ThreadedServer) -> None:
    google = {
        item["title"]
        for item in rss_items(httpx.get(f"{emulator.url}/google-trends/trending/rss").content)
    }
    pinterest = {
        trend["keyword"]
        for trend in httpx.get(
            f"{emulator.url}/pinterest/v5/trends/keywords/US/top/monthly", headers=PINTEREST
        ).json()["trends"]
    }
    reddit = {
        child["data"]["title"]
        for child in httpx.get(
            f"{emulator.url}/reddit/r/printondemand+etsy+gifts+CatsAreAssholes/top.json",
            params={"limit": 100},
            headers=AGENT,
        ).json()["data"]["children"]
    }
    assert {"funny cat mom shirt", "soccer mom shirt", "hockey mom hoodie"} <= google
    assert {"dog mom sweatshirt", "dog dad gifts", "cat dad shirt"} <= google
    assert {
        "cat mom funny",
        "soccer mom",
        "hockey mom",
        "dog mom aesthetic",
        "dog dad",
    } <= pinterest
    assert "My cat mom shirt design finally sold!" in reddit
    assert all(15 <= len(source) <= 25 for source in (google, pinterest, reddit))


# --- Etsy findAllListingsActive ------------------------------------------------------------


def test_etsy_search_needs_the_app_key(emulator: ThreadedServer) -> None:
    url = f"{emulator.url}/etsy/v3/application/listings/active"
    assert httpx.get(url, params={"keywords": "cat"}).status_code == 401
    wrong = httpx.get(url, params={"keywords": "cat"}, headers={"x-api-key": "a:b"})
    assert wrong.status_code == 403


def test_etsy_search_pages_and_stays_the_same(emulator: ThreadedServer) -> None:
    url = f"{emulator.url}/etsy/v3/application/listings/active"
    query: dict[str, str | int] = {
        "keywords": "retro quokka teacher shirt",  # no test lists a quokka
        "limit": 30,
        "sort_on": "score",
    }
    first = httpx.get(url, params=query, headers=ETSY_KEY).json()
    second = httpx.get(url, params=query | {"offset": 30}, headers=ETSY_KEY).json()
    again = httpx.get(url, params=query, headers=ETSY_KEY).json()
    assert first == again and first["count"] == second["count"] > 60
    assert len(first["results"]) == len(second["results"]) == 30
    ids = [item["listing_id"] for item in first["results"] + second["results"]]
    assert len(set(ids)) == 60
    item = first["results"][0]
    assert item["price"]["divisor"] == 100 and item["price"]["currency_code"] == "USD"
    assert 1499 <= item["price"]["amount"] < 4000
    assert item["num_favorers"] >= 0 and item["created_timestamp"] < time.time()
    assert "Quokka Retro Shirt Teacher" in item["title"]
    bad = httpx.get(url, params={"keywords": "x", "sort_on": "best"}, headers=ETSY_KEY)
    assert bad.status_code == 400 and "sort_on" in bad.json()["error"]
    fewer = httpx.get(url, params={"keywords": "retro quokka teacher shirt gift"}, headers=ETSY_KEY)
    assert fewer.json()["count"] < first["count"]  # a longer search matches fewer


async def test_etsy_search_counts_the_emulators_own_active_listings(
    emulator: ThreadedServer,
) -> None:
    marker = f"zq{secrets.token_hex(3)}"
    url = f"{emulator.url}/etsy/v3/application/listings/active"
    query: dict[str, str | int] = {"keywords": f"{marker} mug", "limit": 5}
    before = etsy_search(url, query)
    etsy = EtsyClient(
        base_url=f"{emulator.url}/etsy/v3",
        keystring=CONFIG.etsy_keystring,
        shared_secret=CONFIG.etsy_shared_secret,
        access_token=CONFIG.etsy_access_token,
    )
    try:
        draft = await etsy.create_draft_listing(
            CONFIG.etsy_shop_id,
            title=f"{marker} Mug for Cat Moms",
            description="A mug.",
            price_cents=1800,
            quantity=5,
            tags=["mug"],
            taxonomy_id=482,
            shipping_profile_id=SHIPPING_PROFILE_ID,
            readiness_state_id=READINESS_STATE_ID,
            return_policy_id=RETURN_POLICY_ID,
        )
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (1, 2, 3)).save(buffer, "PNG")
        await etsy.upload_listing_image(
            CONFIG.etsy_shop_id, draft["listing_id"], image=buffer.getvalue(), file_name="a.png"
        )
        await etsy.activate_listing(CONFIG.etsy_shop_id, draft["listing_id"])
    finally:
        await etsy.aclose()
    after = etsy_search(url, query)
    assert after["count"] == before["count"] + 1
    assert after["results"][0]["listing_id"] == draft["listing_id"]  # own matches first
    assert after["results"][0]["price"] == {"amount": 1800, "divisor": 100, "currency_code": "USD"}
