"""`parse_trending_rss` on the documented feed, empty and broken feeds, and hostile XML."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from domain.trends import ScrapedTrend
from integrations.trends.google_trends import parse_traffic, parse_trending_rss

FIXTURES = Path(__file__).parent / "fixtures"
HEAD = '<rss xmlns:ht="https://trends.google.com/trending/rss" version="2.0"><channel>'
TAIL = "</channel></rss>"


def feed(*items: str) -> str:
    return HEAD + "".join(items) + TAIL


def test_a_normal_feed() -> None:
    batch = parse_trending_rss((FIXTURES / "google_trending_us.xml").read_bytes())
    assert batch.source == "google_trends"
    assert batch.trends == [
        ScrapedTrend(
            source="google_trends",
            keyword="funny cat mom shirt",
            traffic=500_000,
            observed_at="2025-03-10T13:40:00+00:00",  # 06:40 at -0700
            url="https://news.example.com/cat-mom-merch",
            extra={"news_count": 2, "news_title": "Cat mom merch sells out & restocks"},
        ),
        ScrapedTrend(
            source="google_trends",
            keyword="fathers day gifts",  # lower case: searches ignore case
            traffic=2_000_000,
            observed_at="2025-06-15T00:05:00+00:00",
            # The first news URL is `javascript:`: the first http(s) one is taken.
            url="https://news.example.com/last-minute",
            extra={"news_count": 2, "news_title": "Best gifts for dad"},
        ),
        ScrapedTrend(
            source="google_trends",
            keyword="axolotl plush",
            traffic=100,
            observed_at="2025-03-11T09:00:00+00:00",  # -0000: UTC
            extra={"news_count": 0},
        ),
        ScrapedTrend(
            source="google_trends",
            keyword="hockey mom hoodie",  # whitespace and newlines collapsed
            traffic=1000,
            observed_at=None,
            extra={"news_count": 0},
        ),
        ScrapedTrend(
            source="google_trends",
            keyword="pickleball gifts",
            traffic=None,
            observed_at="2025-03-12T10:30:00+00:00",
            extra={"news_count": 0},
        ),
    ]
    assert batch.skipped == [
        "item 4 ('hockey mom hoodie'): pubDate 'yesterday at noon' is no date; left out",
        "item 5 ('pickleball gifts'): approx_traffic 'lots' is no count; traffic left out",
        "item 6: no title",
        "item 7: no title",
    ]


def test_an_empty_feed_has_no_trends_and_nothing_to_report() -> None:
    batch = parse_trending_rss((FIXTURES / "google_empty.xml").read_bytes())
    assert (batch.trends, batch.skipped) == ([], [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("500K+", 500_000),
        ("2M+", 2_000_000),
        ("100+", 100),
        ("1,000+", 1000),
        ("1.5M+", 1_500_000),
        ("20k+", 20_000),
        (" 200K+ ", 200_000),
        ("1B+", 1_000_000_000),
        ("lots", None),
        ("-500K+", None),
        ("", None),
        (None, None),
        ("9" * 400 + "+", None),  # inf: not finite
        ("5000B+", None),  # above any real count
    ],
)
def test_approx_traffic(raw: str | None, expected: float | None) -> None:
    assert parse_traffic(raw) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<rss><channel><item><title>open", "feed is not XML (no element found: line 1,"),
        (b'{"trends": []}', "feed is not XML (not well-formed (invalid token): line 1, column 0)"),
        (b"", "feed is not XML (no element found: line 1, column 0)"),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>',
            "feed is not RSS 2.0: root '{http://www.w3.org/2005/Atom}feed' has no <channel>",
        ),
        (b"<rss version='2.0'><item/></rss>", "feed is not RSS 2.0: root 'rss' has no <channel>"),
    ],
)
def test_unreadable_feeds_give_a_reason(body: bytes, reason: str) -> None:
    batch = parse_trending_rss(body)
    assert batch.trends == []
    assert len(batch.skipped) == 1 and batch.skipped[0].startswith(reason)


def test_billion_laughs_is_refused_not_expanded() -> None:
    started = time.perf_counter()
    batch = parse_trending_rss((FIXTURES / "google_billion_laughs.xml").read_bytes())
    assert time.perf_counter() - started < 1.0
    assert batch.trends == []
    assert batch.skipped == ["feed refused: it declares a DTD or entities (DTDForbidden)"]


def test_external_entities_are_refused_not_read() -> None:
    batch = parse_trending_rss((FIXTURES / "google_external_entity.xml").read_bytes())
    assert batch.trends == []
    assert batch.skipped == ["feed refused: it declares a DTD or entities (DTDForbidden)"]


def test_a_10_mb_title_is_cut_to_200_characters() -> None:
    title = "A" * 10_000_000
    batch = parse_trending_rss(feed(f"<item><title>{title}</title></item>").encode())
    assert [trend.keyword for trend in batch.trends] == ["a" * 200]


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    title = " ".join(["cat"] * 100)  # 399 characters
    batch = parse_trending_rss(feed(f"<item><title>{title}</title></item>"))
    assert batch.trends[0].keyword == " ".join(["cat"] * 50)[:199]
    assert len(batch.trends[0].keyword) == 199


def test_control_and_invisible_characters_are_stripped() -> None:
    # XML 1.0 forbids most control characters (that feed is not XML at all); tabs,
    # newlines and zero-width marks are legal and must not reach a keyword.
    batch = parse_trending_rss(
        feed("<item><title>funny\tcat\u200b\u202e mom&#10; shirt\u00ad</title></item>")
    )
    assert [trend.keyword for trend in batch.trends] == ["funny cat mom shirt"]
    refused = parse_trending_rss(feed("<item><title>cat&#1;mom</title></item>"))
    assert refused.trends == [] and refused.skipped[0].startswith("feed is not XML")
