"""Contract tests: the four trend-source clients over HTTP against the emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from core.http_server import ThreadedServer
from core.settings import Settings
from integrations.errors import VendorError
from integrations.trends import (
    EtsySearchClient,
    GoogleTrendsClient,
    PinterestTrendsClient,
    RedditClient,
    build_trend_sources,
)
from models.trends import SourceOptions
from sandbox.app import EmulatorConfig
from sandbox.etsy_search import search_words, synthetic_count
from tests.conftest import emulator_of_its_own

CONFIG = EmulatorConfig()
USER_AGENT = "server:pod-automator-tests:0.1 (by /u/pod-tests)"
ALL_SUBREDDITS = ["etsy", "printondemand", "gifts", "CatsAreAssholes"]


@pytest.fixture(scope="module")
def emulator(emulator_config: EmulatorConfig) -> Iterator[ThreadedServer]:
    """This module's own: it counts the requests in the emulators' log."""
    yield from emulator_of_its_own(emulator_config)


def requests_to(emulator: ThreadedServer, path: str) -> int:
    log = httpx.get(f"{emulator.url}/__admin/requests").json()
    return sum(1 for row in log if row["path"] == path)


def add_fault(emulator: ThreadedServer, **rule: Any) -> None:
    assert httpx.post(f"{emulator.url}/__admin/faults", json=rule).status_code == 204


@pytest.fixture
async def google(emulator: ThreadedServer) -> AsyncIterator[GoogleTrendsClient]:
    client = GoogleTrendsClient(
        base_url=f"{emulator.url}/google-trends", rate_per_minute=6000, backoff_base=0.01
    )
    yield client
    await client.aclose()


@pytest.fixture
async def reddit(emulator: ThreadedServer) -> AsyncIterator[RedditClient]:
    client = RedditClient(
        base_url=f"{emulator.url}/reddit",
        user_agent=USER_AGENT,
        rate_per_minute=6000,
        page_size=5,
    )
    yield client
    await client.aclose()


@pytest.fixture
async def pinterest(emulator: ThreadedServer) -> AsyncIterator[PinterestTrendsClient]:
    client = PinterestTrendsClient(
        base_url=f"{emulator.url}/pinterest/v5",
        access_token=CONFIG.pinterest_token,
        rate_per_second=100,
    )
    yield client
    await client.aclose()


@pytest.fixture
async def etsy_search(emulator: ThreadedServer) -> AsyncIterator[EtsySearchClient]:
    client = EtsySearchClient(
        base_url=f"{emulator.url}/etsy/v3",
        keystring=CONFIG.etsy_keystring,
        shared_secret=CONFIG.etsy_shared_secret,
    )
    yield client
    await client.aclose()


# --- Google Trends -------------------------------------------------------------------------


async def test_google_trending_feed(google: GoogleTrendsClient) -> None:
    batch = await google.trending("US")
    assert batch.source == "google_trends" and batch.skipped == []
    assert len(batch.trends) == 21
    first = batch.trends[0]
    assert (first.keyword, first.traffic) == ("funny cat mom shirt", 200_000)
    assert first.url == "https://news.example.com/funny-cat-mom-shirt/1"
    assert first.extra == {"news_count": 2, "news_title": "Cat mom merch sells out again"}
    assert first.observed_at is not None and first.observed_at.endswith("+00:00")
    traffic = {trend.keyword: trend.traffic for trend in batch.trends}
    assert traffic["fathers day gifts"] == 2_000_000
    assert traffic["cottagecore mushroom art"] == 1000
    assert traffic["axolotl plush"] == 100


async def test_google_answers_are_cached_per_geo(emulator: ThreadedServer) -> None:
    now = [1000.0]
    client = GoogleTrendsClient(
        base_url=f"{emulator.url}/google-trends",
        rate_per_minute=6000,
        cache_seconds=300,
        clock=lambda: now[0],
    )
    path = "/google-trends/trending/rss"
    before = requests_to(emulator, path)
    try:
        first = await client.trending("GB")
        first.trends.clear()  # a caller's changes do not reach the cache
        now[0] += 299
        again = await client.trending("GB")
        assert requests_to(emulator, path) == before + 1  # the second call sent nothing
        assert len(again.trends) == 21
        await client.trending("CA")  # another geo has its own entry
        assert requests_to(emulator, path) == before + 2
        now[0] += 2  # past the 300 s
        await client.trending("GB")
        assert requests_to(emulator, path) == before + 3
    finally:
        await client.aclose()


async def test_google_failures_raise_vendor_errors(
    google: GoogleTrendsClient, emulator: ThreadedServer, clear_faults: None
) -> None:
    with pytest.raises(ValueError, match="geo"):
        await google.trending("usa")
    add_fault(emulator, method="GET", path_regex="^/google-trends/", status=503, times=3)
    with pytest.raises(VendorError) as down:
        await google.trending("DE")
    assert down.value.code == "GOOGLE_TRENDS_UNAVAILABLE" and down.value.retryable
    assert down.value.status == 503


# --- Reddit --------------------------------------------------------------------------------


async def test_reddit_follows_after_across_pages(
    reddit: RedditClient, emulator: ThreadedServer
) -> None:
    path = "/reddit/r/etsy+printondemand+gifts+CatsAreAssholes/top.json"
    before = requests_to(emulator, path)
    batch = await reddit.listing(ALL_SUBREDDITS, listing="top", period="week", pages=10)
    # 23 posts at 5 a page: the fifth page has no `after`, so the walk stops there.
    assert requests_to(emulator, path) == before + 5
    assert len(batch.trends) == 20
    names = [trend.extra["id"] for trend in batch.trends]
    assert len(set(names)) == 20
    engagement = [trend.engagement or 0 for trend in batch.trends]
    assert engagement[0] > 2000  # top: the knocked-over mug leads
    reasons = sorted(reason.split(": ", 2)[2] for reason in batch.skipped)
    assert reasons == ["marked over 18", "stickied by the moderators", "title has no niche words"]
    keywords = {trend.keyword for trend in batch.trends}
    assert {"cat mom shirt", "dog mom sweatshirt", "cat dad duty 3am"} <= keywords
    urls = [trend.url or "" for trend in batch.trends]
    assert all(url.startswith("https://www.reddit.com/r/") for url in urls)


async def test_reddit_stops_after_the_pages_asked_for(
    reddit: RedditClient, emulator: ThreadedServer
) -> None:
    path = "/reddit/r/printondemand+gifts/new.json"
    before = requests_to(emulator, path)
    batch = await reddit.listing(["printondemand", "gifts"], listing="new", pages=2)
    assert requests_to(emulator, path) == before + 2
    assert len(batch.trends) + len(batch.skipped) == 10
    times = [trend.observed_at or "" for trend in batch.trends]
    assert times == sorted(times, reverse=True)  # new: newest first


async def test_reddit_reads_the_rate_limit_headers(reddit: RedditClient) -> None:
    for listing in ("hot", "rising"):
        batch = await reddit.listing(["CatsAreAssholes"], listing=listing)
        assert {trend.keyword for trend in batch.trends} >= {"cat mom life chaos"}
    remaining = reddit.quota.remaining
    assert remaining is not None and 0 < remaining < 100


async def test_reddit_unknown_subreddits_fail_clearly(reddit: RedditClient) -> None:
    with pytest.raises(VendorError) as missing:
        await reddit.listing(["nosuchsubreddit"])
    assert missing.value.status == 404 and missing.value.code == "REDDIT_NOT_FOUND"
    assert not missing.value.retryable
    with pytest.raises(ValueError, match="subreddit"):
        await reddit.listing(["../etsy"])
    with pytest.raises(ValueError, match="listing"):
        await reddit.listing(["etsy"], listing="controversial")


async def test_the_emulator_throttles_a_generic_agent(emulator: ThreadedServer) -> None:
    # The client cannot be built with one (below); a plain httpx call shows why.
    answer = httpx.get(f"{emulator.url}/reddit/r/etsy/top.json")
    assert answer.status_code == 429
    assert answer.json() == {"message": "Too Many Requests", "error": 429}


@pytest.mark.parametrize(
    "agent",
    ["", "python-httpx/0.28.1", "python-requests/2.32", "Mozilla/5.0 (X11; Linux)", "pod/0.1"],
)
def test_a_generic_user_agent_is_refused(agent: str) -> None:
    with pytest.raises(ValueError, match=r"\(by /u/<username>\)"):
        RedditClient(base_url="http://127.0.0.1:9", user_agent=agent)


# --- Pinterest -----------------------------------------------------------------------------


async def test_pinterest_top_keywords(pinterest: PinterestTrendsClient) -> None:
    growing = await pinterest.top_keywords("US", "growing")
    assert growing.skipped == [] and len(growing.trends) == 20
    first = growing.trends[0]
    assert (first.keyword, first.growth_pct) == ("fathers day gift ideas", 10_000)
    assert first.extra == {"rank": 1, "growth_capped": True}
    assert [trend.extra["rank"] for trend in growing.trends] == list(range(1, 21))
    assert all(0 <= (trend.engagement or -1) <= 100 for trend in growing.trends)
    seasonal = await pinterest.top_keywords("DE+AT+CH", "seasonal", limit=3)
    assert len(seasonal.trends) == 3 and all(trend.seasonal for trend in seasonal.trends)
    yearly = await pinterest.top_keywords("AU+NZ", "yearly", limit=1)
    assert yearly.trends[0].keyword == "pickleball" and yearly.trends[0].growth_pct == 10_000


async def test_pinterest_without_the_token_is_refused(emulator: ThreadedServer) -> None:
    client = PinterestTrendsClient(
        base_url=f"{emulator.url}/pinterest/v5", access_token="someone-elses-token"
    )
    try:
        with pytest.raises(VendorError) as refused:
            await client.top_keywords()
    finally:
        await client.aclose()
    assert refused.value.status == 401 and refused.value.code == "PINTEREST_AUTH"
    assert not refused.value.retryable and refused.value.details == {"code": 2}
    assert "someone-elses-token" not in str(refused.value)


async def test_pinterest_values_outside_its_lists(pinterest: PinterestTrendsClient) -> None:
    with pytest.raises(ValueError, match="region"):
        await pinterest.top_keywords("GB")
    with pytest.raises(ValueError, match="trend_type"):
        await pinterest.top_keywords("US", "weekly")
    with pytest.raises(ValueError, match="limit"):
        await pinterest.top_keywords("US", limit=51)


# --- Etsy search ---------------------------------------------------------------------------


async def test_etsy_competition_numbers(etsy_search: EtsySearchClient) -> None:
    competition = await etsy_search.competition("  Funny Quokka MOM shirt\t")
    assert competition.keyword == "funny quokka mom shirt"
    words = search_words("funny quokka mom shirt")
    assert competition.listing_count == synthetic_count(words) == 2771
    assert competition.sampled == 100
    assert competition.median_price is not None and 14.99 <= competition.median_price <= 39.98
    assert competition.mean_favorers is not None and competition.mean_favorers > 0
    assert competition.newest_listing_at is not None
    assert await etsy_search.competition("funny quokka mom shirt") == competition  # stable
    small = await etsy_search.competition("funny quokka mom shirt", sample=10)
    assert (small.listing_count, small.sampled) == (2771, 10)


async def test_etsy_competition_needs_the_app_key(emulator: ThreadedServer) -> None:
    client = EtsySearchClient(
        base_url=f"{emulator.url}/etsy/v3", keystring="wrong", shared_secret="also-wrong"
    )
    try:
        with pytest.raises(VendorError) as refused:
            await client.competition("dog dad")
        with pytest.raises(ValueError, match="empty"):
            await client.competition("\x00 \u200b")
    finally:
        await client.aclose()
    assert refused.value.code == "ETSY_AUTH" and not refused.value.retryable


# --- All four, as a worker builds them -----------------------------------------------------


async def test_build_trend_sources_from_settings(emulator: ThreadedServer) -> None:
    settings = Settings(
        google_trends_base_url=f"{emulator.url}/google-trends",
        reddit_base_url=f"{emulator.url}/reddit",
        pinterest_base_url=f"{emulator.url}/pinterest/v5",
        etsy_base_url=f"{emulator.url}/etsy/v3",
    )
    sources = build_trend_sources(settings)
    try:
        options = SourceOptions(reddit_subreddits=["gifts"], pinterest_trend_type="monthly")
        google = await sources.fetch("google_trends", options)
        reddit = await sources.fetch("reddit", options)
        pinterest = await sources.fetch("pinterest", options)
        competition = await sources.etsy.competition("dog dad")
        with pytest.raises(ValueError, match="not a source of trends"):
            await sources.fetch("etsy", options)
    finally:
        await sources.aclose()
    assert len(google.trends) == 21
    assert {trend.extra["subreddit"] for trend in reddit.trends} == {"gifts"}
    assert len(pinterest.trends) == 20
    assert competition.listing_count > 0
