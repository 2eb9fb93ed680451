"""The whole local screen on whole briefs: what a seller's keyword becomes must pass when
the keyword is clean and be refused when it names protected work, whichever field the
name lands in; profanity in the spellings people use to slip past a filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.providers import build_local_screen
from core.settings import Settings
from integrations.local.brief_writer import normalise_keyword, write_brief
from integrations.safety import ContentScreen, ProfanityScreen, brief_fields

DATA = Path(__file__).resolve().parents[1] / "data"


def _keywords(name: str) -> list[str]:
    lines = (DATA / name).read_text("utf-8").splitlines()
    return [kept for line in lines if (kept := line.split("#", 1)[0].strip())]


@pytest.fixture(scope="module")
def screen() -> ContentScreen:
    return build_local_screen(Settings())


async def test_clean_keywords_make_briefs_that_pass_the_whole_screen(
    screen: ContentScreen,
) -> None:
    # The brief writer's own prose ("for good vibes only fans", "Official ... Club")
    # must not spell a name the keyword did not.
    refused = {}
    for keyword in _keywords("ip_clean.txt"):
        verdict = await screen.check(brief_fields(write_brief(keyword)))
        if not verdict.safe:
            refused[keyword] = verdict.details["matches"]
    assert refused == {}


async def test_protected_keywords_are_refused_as_sent_or_in_their_brief(
    screen: ContentScreen,
) -> None:
    missed = []
    for keyword in _keywords("ip_protected.txt"):
        as_sent = await screen.check(
            {"keyword": keyword, "plain keyword": normalise_keyword(keyword)}
        )
        brief = await screen.check(brief_fields(write_brief(keyword)))
        if as_sent.safe and brief.safe:
            missed.append(keyword)
    # Misspellings are the known gap (ADR 0025): at most 2 % of the set.
    assert len(missed) <= len(_keywords("ip_protected.txt")) // 50, missed


async def test_long_text_judges_no_everyday_word_and_no_name_joined_from_words(
    screen: ContentScreen,
) -> None:
    prose = "A tee for good vibes only fans. Aim at the target; a store near you sells it."
    assert (await screen.check({"description": prose})).safe
    # The same words in a title are judged: a title is what a buyer searches.
    assert not (await screen.check({"title": "Target Store Employee Tee"})).safe
    assert not (await screen.check({"description": "Our Star Wars fan tee"})).safe


def test_profanity_in_masked_and_leet_spellings_but_not_innocent_words() -> None:
    profanity = ProfanityScreen(["kill yourself"])
    assert profanity.find("what the fvck") == ["fvck"]
    assert profanity.find("sh1t happens") == ["sh1t"]
    assert profanity.find("just kill yourself") == ["just kill yourself"]
    for innocent in ("gay pride parade", "hell yeah dink responsibly", "potty training pro"):
        assert profanity.find(innocent) == [], innocent
