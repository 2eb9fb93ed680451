"""Reddit listings (`GET {base}/r/{a+b+c}/{listing}.json`) as niche keywords.

`external-apis.md` §4b: a Listing holds `t3` posts; pages chain through `after`. Reddit
throttles generic agents, so the client refuses to exist without a User-Agent of the form
`<platform>:<app id>:<version> (by /u/<username>)`; it paces itself (`rate_per_minute`),
waits for Reddit's window when `X-Ratelimit-Remaining` reaches 0 (`reddit_quota`), and
retries a 429 after its `Retry-After` (the shared `VendorHttp` core).

Posts left out, each with a reason: non-`t3` children, `over_18` posts, stickied posts
(moderator announcements, not demand), posts without a title or without niche words, and
a post repeated on a later page.

A post title is a sentence, not a keyword. The niche keyword derived from it
(`niche_keyword`) is, in order:
1. the title in lower case, with URLs, `[tags]` and `(asides)` removed;
2. its words (letters and digits; emoji and punctuation are dropped, a possessive 's
   goes), without pure numbers, one-letter words and repeats;
3. without stopwords and Reddit filler (`FILLER`: "my", "i", "made", "this", "just",
   "finally", "sold", "design", shop names, …);
4. the first `MAX_WORDS` (5) words left, joined by spaces. No word left: the post is
   skipped. "My cat mom shirt design finally sold!" becomes "cat mom shirt".
Engagement is `max(score, 0) + num_comments` (a downvoted post has none); the URL is
`https://www.reddit.com` + permalink.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from domain.trends import ScrapedTrend, TrendSource
from integrations.http import VendorHttp
from integrations.trends.feed import (
    MalformedFeed,
    brief,
    clean_text,
    iso_from_epoch,
    load_json,
    number,
    skip,
)
from integrations.trends.reddit_quota import QuotaObservingTransport, RedditQuota
from models.trends import SourceBatch

VENDOR = "reddit"
LISTINGS = ("top", "hot", "new", "rising")
PERIODS = ("hour", "day", "week", "month", "year", "all")
MAX_PAGES = 10
MAX_WORDS = 5
USER_AGENT_FORM = re.compile(
    r"^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+ \(by /u/[A-Za-z0-9_-]{3,20}\)$"
)
SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_FULLNAME = re.compile(r"^t3_[a-z0-9]{1,16}$")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_ASIDE = re.compile(r"\[[^\]]{0,40}\]|\([^)]{0,40}\)")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# Function words, and Reddit filler that says nothing about a niche (kept as text to read).
_STOPWORDS = """
a about after again all also am an and any anyone are aren't as at be been before best but by
can could did do does doing don't even ever every everyone everything for from get got had has
have he her here him his how i i'd i'll i'm i've if im in into is isn't it it's its ive just me
more most much my need new no not now of off on one only or our out over really same she should
so some still such than that that's the their them then there these they this those to too up
us very vs was we were what when where which while who why will with would yet you your
"""
_FILLER = """
anybody advice design designs doing feedback finally first guys help idea lol looking love loves
made make making oc opinion opinions please question sale sales sell selling sells shop sold
store thanks think thoughts today update week weekly well went else better blowing everywhere
etsy printify printful redbubble amazon
"""
STOPWORDS = frozenset(_STOPWORDS.split())
FILLER = frozenset(_FILLER.split())
REDDIT_URL = "https://www.reddit.com"


def niche_keyword(title: str) -> str | None:
    """A short niche keyword from a post title (the rule is in the module docstring)."""
    text = (clean_text(title, 1000) or "").lower().replace("\u2019", "'")  # typographic apostrophe
    text = _ASIDE.sub(" ", _URL.sub(" ", text))
    words: list[str] = []
    for word in _WORD.findall(text):
        word = word.removesuffix("'s")
        if len(word) < 2 or word.isdigit() or word in words:
            continue
        if word in STOPWORDS or word in FILLER:
            continue
        words.append(word)
        if len(words) == MAX_WORDS:
            break
    return " ".join(words) or None


def _post(batch: SourceBatch, index: int, child: Any) -> ScrapedTrend | None:
    if not isinstance(child, dict):
        skip(batch, f"child {index}: not an object")
        return None
    if child.get("kind") != "t3":
        skip(batch, f"child {index}: kind {brief(child.get('kind'))} is not a post")
        return None
    post = child.get("data")
    if not isinstance(post, dict):
        skip(batch, f"child {index}: post has no data")
        return None
    name = post.get("name")
    label = name if isinstance(name, str) and _FULLNAME.match(name) else f"child {index}"
    if post.get("over_18") is True:
        skip(batch, f"{label}: marked over 18")
        return None
    if post.get("stickied") is True:
        skip(batch, f"{label}: stickied by the moderators")
        return None
    title = clean_text(post.get("title"), 300)
    if title is None:
        skip(batch, f"{label}: no title")
        return None
    keyword = niche_keyword(title)
    if keyword is None:
        skip(batch, f"{label}: title has no niche words")
        return None
    score = number(post.get("score"), -1e12)
    comments = number(post.get("num_comments"))
    engagement = max(score, 0.0) + comments if score is not None and comments is not None else None
    if engagement is None:
        skip(batch, f"{label}: score/num_comments are not counts; engagement left out")
    permalink = post.get("permalink")
    valid_link = isinstance(permalink, str) and re.fullmatch(r"/r/[^\s?#]{1,300}", permalink)
    subreddit = post.get("subreddit")
    extra: dict[str, Any] = {"title": title}
    if isinstance(subreddit, str) and SUBREDDIT.match(subreddit):
        extra["subreddit"] = subreddit
    if label != f"child {index}":
        extra["id"] = label
    if score is not None and comments is not None:
        extra |= {"score": int(score), "num_comments": int(comments)}
    return ScrapedTrend(
        source=batch.source,
        keyword=keyword,
        engagement=engagement,
        observed_at=iso_from_epoch(post.get("created_utc")),
        url=f"{REDDIT_URL}{permalink}" if valid_link else None,
        extra=extra,
    )


def parse_listing(body: bytes | str | Any) -> tuple[SourceBatch, str | None]:
    """The posts of one Listing page as trends, and the `after` of the next page (None: the
    last page, or a page that could not be read)."""
    batch = SourceBatch(source=TrendSource.REDDIT.value)
    try:
        page = load_json(body) if isinstance(body, bytes | str) else body
    except MalformedFeed as exc:
        skip(batch, f"page is {exc}")
        return batch, None
    data = page.get("data") if isinstance(page, dict) and page.get("kind") == "Listing" else None
    if not isinstance(data, dict):
        skip(batch, "page is not a Listing with data")
        return batch, None
    children = data.get("children")
    if not isinstance(children, list):
        skip(batch, f"page's children are {type(children).__name__}, not a list")
        return batch, None
    for index, child in enumerate(children):
        trend = _post(batch, index, child)
        if trend is not None:
            batch.trends.append(trend)
    after = data.get("after")
    if after is not None and not (isinstance(after, str) and _FULLNAME.match(after)):
        skip(batch, f"page's after {brief(after)} is no post name; no further pages")
        after = None
    return batch, after


def _reddit_error(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """`{"message", "error"}` (and `reason` on a banned or private subreddit)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        reason = body.get("reason")
        message = clean_text(body["message"], 200) or "no details"
        return (f"{message} ({reason})" if isinstance(reason, str) else message), {}
    return (clean_text(response.text, 200) or response.reason_phrase or "no details"), {}


class RedditClient:
    """Subreddit listings as trends; refuses to be built without an identifying User-Agent."""

    def __init__(
        self,
        *,
        base_url: str,
        user_agent: str,
        rate_per_minute: float = 10.0,
        page_size: int = 100,
        max_wait_seconds: float = 60.0,
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_base: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not USER_AGENT_FORM.match(user_agent or ""):
            raise ValueError(
                "Reddit throttles generic User-Agents: use the form"
                " '<platform>:<app id>:<version> (by /u/<username>)',"
                f" e.g. 'server:pod-automator:0.1 (by /u/you)'; got {user_agent!r}"
            )
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be 1-100 (Reddit's limit)")
        self.page_size = page_size
        self.quota = RedditQuota(max_wait_seconds)
        # The window is Reddit's; the minute's rate is ours (unauthenticated traffic gets
        # about 10 a minute): a minute's worth may go at once, then one per 60/rate s.
        limits = (AsyncLimiter(rate_per_minute, 60.0), self.quota)
        self._http = VendorHttp(
            VENDOR,
            base_url=base_url,
            headers={"user-agent": user_agent, "accept": "application/json"},
            limits=lambda _method, _path: limits,
            error_message=_reddit_error,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            transport=QuotaObservingTransport(self.quota, transport),
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self._http.aclose()

    async def listing(
        self,
        subreddits: Sequence[str],
        *,
        listing: str = "top",
        period: str = "day",
        pages: int = 1,
    ) -> SourceBatch:
        """Up to `pages` pages of the combined subreddits' listing, following `after`.

        Raises `VendorError` when Reddit cannot be reached or refuses; pages that cannot be
        read end the walk with the reason in `skipped`.
        """
        path = _listing_path(subreddits, listing, period, pages)
        batch = SourceBatch(source=TrendSource.REDDIT.value)
        seen: set[str] = set()
        after: str | None = None
        for page_number in range(1, pages + 1):
            params: dict[str, str | int] = {"limit": self.page_size, "raw_json": 1}
            if listing == "top":  # `t` means nothing to the other listings
                params["t"] = period
            if after:
                params["after"] = after
            response = await self._http.request("GET", path, params=params)
            page, after = parse_listing(response.content)
            batch.skipped += [f"page {page_number}: {reason}" for reason in page.skipped]
            for trend in page.trends:
                name = trend.extra.get("id")
                if name is not None and name in seen:
                    skip(batch, f"page {page_number}: {name}: repeated from an earlier page")
                    continue
                if name is not None:
                    seen.add(name)
                batch.trends.append(trend)
            if after is None:
                break
        return batch


def _listing_path(subreddits: Sequence[str], listing: str, period: str, pages: int) -> str:
    bad = [name for name in subreddits if not SUBREDDIT.match(name)]
    if not subreddits or bad:
        raise ValueError(f"subreddit names are 2-21 letters, digits or _: {bad or 'none given'}")
    if listing not in LISTINGS:
        raise ValueError(f"listing must be one of {', '.join(LISTINGS)}, got {listing!r}")
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if not 1 <= pages <= MAX_PAGES:
        raise ValueError(f"pages must be 1-{MAX_PAGES}, got {pages}")
    return f"r/{'+'.join(subreddits)}/{listing}.json"
