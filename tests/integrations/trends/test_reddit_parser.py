"""`parse_listing` and `niche_keyword` on the documented Listing shape and hostile pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.trends import ScrapedTrend
from integrations.trends.reddit import niche_keyword, parse_listing

FIXTURES = Path(__file__).parent / "fixtures"


def page(*posts: dict[str, Any], after: str | None = None) -> dict[str, Any]:
    children = [{"kind": "t3", "data": post} for post in posts]
    return {"kind": "Listing", "data": {"after": after, "children": children}}


def post(**fields: Any) -> dict[str, Any]:
    base = {
        "id": "abc1234",
        "name": "t3_abc1234",
        "title": "Soccer mom shirt",
        "subreddit": "printondemand",
        "score": 10,
        "num_comments": 2,
        "created_utc": 1741600800.0,
        "permalink": "/r/printondemand/comments/abc1234/soccer_mom_shirt/",
        "over_18": False,
    }
    return base | fields


def test_a_normal_page() -> None:
    batch, after = parse_listing((FIXTURES / "reddit_top_page.json").read_bytes())
    assert after == "t3_1b2c3d4"
    assert batch.source == "reddit"
    assert batch.trends == [
        ScrapedTrend(
            source="reddit",
            keyword="cat mom shirt",
            engagement=469,  # 412 points + 57 comments
            observed_at="2025-03-10T10:00:00+00:00",
            url="https://www.reddit.com/r/printondemand/comments/1a2b3c4/"
            "my_cat_mom_shirt_design_finally_sold/",
            extra={
                "title": "My cat mom shirt design finally sold!",
                "subreddit": "printondemand",
                "id": "t3_1a2b3c4",
                "score": 412,
                "num_comments": 57,
            },
        ),
        ScrapedTrend(
            source="reddit",
            keyword="retro teacher shirts back school",  # no [OC], emoji or URL
            engagement=19,  # a downvoted post's score counts as 0
            observed_at="2025-03-10T12:33:20+00:00",
            url="https://www.reddit.com/r/etsy/comments/4d4d4d4/retro_teacher_shirts/",
            extra={
                "title": "[OC] Retro teacher shirts 🍎 for back-to-school https://imgur.com/a/xyz",
                "subreddit": "etsy",
                "id": "t3_4d4d4d4",
                "score": -3,
                "num_comments": 19,
            },
        ),
        ScrapedTrend(
            source="reddit",
            keyword="dog dad mug mom",
            engagement=None,  # num_comments is negative: no count
            observed_at="2025-03-10T01:26:40+00:00",
            url=None,  # the permalink is not a Reddit path
            extra={
                "title": "Dog dad mug vs dog mom mug: which sells better?",
                "subreddit": "printondemand",
                "id": "t3_1b2c3d4",
            },
        ),
    ]
    assert batch.skipped == [
        "t3_9zz9zz9: stickied by the moderators",
        "t3_7rvq7va: marked over 18",
        "child 3: kind 't1' is not a post",
        "t3_5t5t5t5: no title",
        "t3_3e3e3e3: title has no niche words",
        "t3_1b2c3d4: score/num_comments are not counts; engagement left out",
    ]


def test_an_empty_listing() -> None:
    batch, after = parse_listing({"kind": "Listing", "data": {"after": None, "children": []}})
    assert (batch.trends, batch.skipped, after) == ([], [], None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"kind": "Listing", "data": {', "page is not JSON (JSONDecodeError)"),
        (b"<html>Whoa there, pardner!</html>", "page is not JSON (JSONDecodeError)"),
        (b"\xff\xfe\x00", "page is not JSON (UnicodeDecodeError)"),
        (b"[" * 100_000 + b"]" * 100_000, "page is not JSON (RecursionError)"),
        (json.dumps({"kind": "Listing"}), "page is not a Listing with data"),
        (json.dumps({"kind": "t3", "data": {}}), "page is not a Listing with data"),
        (json.dumps([1, 2]), "page is not a Listing with data"),
        (json.dumps({"kind": "Listing", "data": "x"}), "page is not a Listing with data"),
        (
            json.dumps({"kind": "Listing", "data": {"children": "t3_a"}}),
            "page's children are str, not a list",
        ),
        (json.dumps({"kind": "Listing", "data": {}}), "page's children are NoneType, not a list"),
    ],
)
def test_pages_of_the_wrong_shape_give_a_reason(body: bytes | str, reason: str) -> None:
    batch, after = parse_listing(body)
    assert (batch.trends, batch.skipped, after) == ([], [reason], None)


def test_children_that_are_not_posts() -> None:
    body = {"kind": "Listing", "data": {"children": [None, 3, {"kind": "t3", "data": []}]}}
    batch, _ = parse_listing(body)
    assert batch.trends == []
    assert batch.skipped == [
        "child 0: not an object",
        "child 1: not an object",
        "child 2: post has no data",
    ]


def test_a_bad_after_ends_the_walk() -> None:
    batch, after = parse_listing(page(post(), after="../../admin"))
    assert after is None and len(batch.trends) == 1
    assert batch.skipped == ["page's after '../../admin' is no post name; no further pages"]


def test_nan_huge_and_negative_numbers_are_not_counts() -> None:
    body = (
        '{"kind": "Listing", "data": {"children": ['
        '{"kind": "t3", "data": {"name": "t3_a1", "title": "dog mom", "score": NaN,'
        ' "num_comments": 1}},'
        '{"kind": "t3", "data": {"name": "t3_a2", "title": "dog dad", "score": 1e999,'
        ' "num_comments": 1}},'
        '{"kind": "t3", "data": {"name": "t3_a3", "title": "cat dad", "score": 5,'
        f' "num_comments": {10**400}}}}},'
        '{"kind": "t3", "data": {"name": "t3_a4", "title": "cat mom", "score": 5,'
        ' "num_comments": true, "created_utc": -1}},'
        '{"kind": "t3", "data": {"name": "t3_a5", "title": "hockey mom", "score": "5",'
        ' "num_comments": 1, "created_utc": 1e300}}'
        "]}}"
    )
    batch, _ = parse_listing(body)
    assert [(t.keyword, t.engagement, t.observed_at) for t in batch.trends] == [
        ("dog mom", None, None),
        ("dog dad", None, None),
        ("cat dad", None, None),
        ("cat mom", None, None),
        ("hockey mom", None, None),
    ]
    assert all("score" not in trend.extra for trend in batch.trends)
    assert batch.skipped == [
        f"t3_a{n}: score/num_comments are not counts; engagement left out" for n in range(1, 6)
    ]


def test_a_10_mb_title_gives_a_short_keyword() -> None:
    batch, _ = parse_listing(page(post(title="sticker " + "x" * 10_000_000)))
    assert batch.trends[0].keyword == "sticker"
    assert len(batch.trends[0].extra["title"]) <= 300


def test_control_characters_never_reach_a_keyword() -> None:
    batch, _ = parse_listing(page(post(title="\x00cat\x07 mom\u202e sh\u200birt\x1b\r\n")))
    assert batch.trends[0].keyword == "cat mom shirt"
    assert batch.trends[0].extra["title"] == "cat mom shirt"


@pytest.mark.parametrize(
    ("title", "keyword"),
    [
        ("My cat mom shirt design finally sold!", "cat mom shirt"),
        ("I just made this soccer mom tee 😍😍", "soccer mom tee"),
        ("Hockey mom hoodie — thoughts? (be honest)", "hockey mom hoodie"),
        ("Check it out: https://www.etsy.com/listing/123 dog dad mug", "check dog dad mug"),
        ("My cat's favourite mug", "cat favourite mug"),
        ("I\u2019m selling 100 retro teacher shirts in 2025", "retro teacher shirts"),
        ("Funny funny FUNNY camping camping shirts", "funny camping shirts"),
        (
            "Gift ideas for a nurse who has mushroom plant mom axolotl",
            "gift ideas nurse mushroom plant",
        ),
        ("Katzenmama Geschenkidee", "katzenmama geschenkidee"),
        ("My first sale on Etsy!!", None),
        ("🎉🎉🎉", None),
        ("", None),
    ],
)
def test_niche_keyword(title: str, keyword: str | None) -> None:
    assert niche_keyword(title) == keyword
