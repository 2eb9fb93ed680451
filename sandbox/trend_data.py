"""The print-on-demand niches the trend-source emulators report.

Realistic niches with deliberate cross-source near-duplicates ("funny cat mom shirt" on
Google, "cat mom funny" on Pinterest, "My cat mom shirt design finally sold!" on Reddit)
and near-misses that must not merge ("soccer mom" vs "hockey mom", "dog mom" vs "dog
dad", "cat mom" vs "cat dad"). Numbers vary by day, never within one (`daily`), so a
second scrape on the same day sees the same trends and merges them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime


def daily(day: date, *parts: object) -> int:
    """A stable pseudo-random number for `parts` on `day` (the same all day long)."""
    seed = "|".join([day.isoformat(), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


def day_start(day: date) -> int:
    """Midnight UTC of `day` as epoch seconds: every emulated moment is before it."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# Google "trending now": (search term, approximate traffic, news headlines).
GOOGLE_TRENDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("funny cat mom shirt", "200K+", ("Cat mom merch sells out again", "Gifts for cat moms")),
    ("dog mom sweatshirt", "100K+", ("The dog mom aesthetic goes cosy",)),
    ("dog dad gifts", "50K+", ("Father's Day ideas for dog dads",)),
    ("soccer mom shirt", "20K+", ("Youth soccer season kicks off",)),
    ("hockey mom hoodie", "10K+", ()),
    ("retro teacher shirt", "50K+", ("Teachers dress retro for spirit week",)),
    ("nurse appreciation week", "500K+", ("Nurses Week 2025: deals and freebies", "Thank a nurse")),
    ("fathers day gifts", "2M+", ("Best Father's Day gifts", "Last-minute gifts for dad")),
    ("funny camping shirts", "20K+", ()),
    ("bookish tote bag", "5K+", ("BookTok's favourite accessories",)),
    ("gym rat shirt", "10K+", ()),
    ("plant lady mug", "2K+", ()),
    ("cottagecore mushroom art", "1,000+", ("Mushrooms are everywhere in home decor",)),
    ("halloween teacher shirt", "100K+", ("Teachers plan costumes early",)),
    ("groovy retirement gift", "5K+", ()),
    ("fishing dad shirt", "20K+", ("Bass season opens",)),
    ("mama bear shirt", "50K+", ()),
    ("pickleball gifts", "200K+", ("Pickleball keeps growing", "Paddles and more")),
    ("bride to be sweatshirt", "10K+", ()),
    ("cat dad shirt", "20K+", ()),
    ("axolotl plush", "100+", ()),
)

# Pinterest trending keywords: (keyword, seasonal, mom growth %, yoy growth %).
# 10001 is Pinterest's overflow marker (growth above its 10000 cap).
PINTEREST_KEYWORDS: tuple[tuple[str, bool, int, int], ...] = (
    ("cat mom funny", False, 180, 320),
    ("dog mom aesthetic", False, 95, 140),
    ("dog dad", False, 60, 45),
    ("soccer mom", True, 120, 35),
    ("hockey mom", True, 85, 20),
    ("retro teacher outfits", True, 240, 410),
    ("nurse week gifts", True, 900, 60),
    ("fathers day gift ideas", True, 10001, 15),
    ("camping aesthetic", True, 130, 75),
    ("book lover gifts", False, 70, 210),
    ("mushroom art", False, 55, 380),
    ("plant mom", False, 40, 25),
    ("pickleball", False, 310, 10001),
    ("bachelorette party shirts", True, 150, 90),
    ("mama bear", False, 35, 30),
    ("gym rat", False, 210, 530),
    ("halloween teacher", True, 400, 50),
    ("retirement party ideas", False, 65, 40),
    ("axolotl", False, 25, 160),
    ("fishing gifts for men", True, 110, 55),
)

PINTEREST_TOKEN_ERROR = {"code": 2, "message": "Authentication failed."}


@dataclass(frozen=True)
class RedditPost:
    """One emulated Reddit post; `hours_ago` dates it before the day's midnight."""

    subreddit: str
    title: str
    score: int
    comments: int
    hours_ago: float
    over_18: bool = False
    stickied: bool = False


REDDIT_POSTS: tuple[RedditPost, ...] = (
    RedditPost("printondemand", "My cat mom shirt design finally sold!", 412, 57, 3),
    RedditPost("printondemand", "Soccer mom tees are blowing up this week", 188, 41, 5),
    RedditPost("printondemand", "Hockey mom hoodie mockups - feedback?", 64, 22, 7),
    RedditPost("printondemand", "Dog dad mug vs dog mom mug: which sells better?", 97, 38, 9),
    RedditPost("printondemand", "Retro teacher shirts for back to school 🍎", 143, 19, 11),
    RedditPost("printondemand", "Weekly promotion thread", 12, 230, 20, stickied=True),
    RedditPost("printondemand", "Pickleball designs are everywhere now", 221, 64, 13),
    RedditPost("etsy", "First sale of my dog mom sweatshirt 🎉", 534, 88, 2),
    RedditPost("etsy", "Fathers Day gift ideas selling early this year", 176, 45, 6),
    RedditPost("etsy", "Is the bookish tote bag market saturated?", 89, 73, 8),
    RedditPost("etsy", "Mushroom cottagecore prints doing well for anyone else?", 58, 27, 10),
    RedditPost("etsy", "My first sale!!", 950, 120, 4),
    RedditPost("etsy", "NSFW design request thread", 40, 12, 12, over_18=True),
    RedditPost("gifts", "Gift ideas for a nurse who has everything", 302, 140, 1),
    RedditPost("gifts", "Best gifts for a new dad who loves fishing", 120, 96, 5),
    RedditPost("gifts", "Looking for a mama bear necklace or shirt", 44, 18, 14),
    RedditPost("gifts", "Camping gifts for my outdoorsy sister", 77, 52, 15),
    RedditPost("gifts", "Gym rat boyfriend birthday ideas?", 65, 71, 16),
    RedditPost("gifts", "Bachelorette party shirts that aren't tacky", 91, 33, 17),
    RedditPost("CatsAreAssholes", "This cat mom life is chaos", 1820, 140, 2),
    RedditPost("CatsAreAssholes", "He knocked my coffee mug off the table again", 2450, 210, 6),
    RedditPost("CatsAreAssholes", "Cat dad duty at 3am (he wanted the door open)", 990, 84, 9),
    RedditPost("CatsAreAssholes", "Plant lady vs cat: the cat won", 640, 51, 18),
)
