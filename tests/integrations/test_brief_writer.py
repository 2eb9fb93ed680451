"""The local brief writer: deterministic, and every brief passes Etsy's copy rules."""

from __future__ import annotations

import re
import unicodedata

import pytest

from domain.listing_rules import fold_accents, validate_tags, validate_title
from integrations.local.brief_writer import (
    PALETTES,
    SLOGAN_MAX_CHARS,
    BriefInputError,
    normalise_keyword,
    spell_out_repeats,
    tag_key,
    write_brief,
)

KEYWORDS = [
    "cat mom",
    "coffee",
    "pickleball",
    "NASA space camp",
    "rock & roll",
    "dungeons & dragons & more",
    "100% that girl: part 2 + more",
    "Café olé",
    "Ñandú crème brûlée",
    "猫好き",
    "Москва",
    "#blessed",
    "🐱 cat dad 🐱",
    "mom's t-shirt!!!",
    "Lord Of The Rings",
    "supercalifragilisticexpialidociousness",
    "the best vintage 1985 birthday gift for grandpa who loves fishing and camping",
    "a" * 80,
    "x1",
    "route 66 road trip",
    "$$$ money $$$ maker ???",
    "  lots   of\tspaces  ",
]

HEX = re.compile(r"#[0-9A-F]{6}")
WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    """Alphanumeric words, accent-folded and case-folded, with `& + % :` spelled out."""
    spelled = text.replace("&", " and ").replace("+", " plus ").replace("%", " percent ")
    return WORD.findall(fold_accents(spelled).casefold())


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_brief_obeys_etsy_rules_and_shape(keyword: str) -> None:
    brief = write_brief(keyword)

    assert validate_title(brief.title) == []
    assert 1 <= len(brief.tags) <= 13
    assert validate_tags(brief.tags) == []
    assert _contains_run(_words(brief.title), _words(brief.keyword)), brief.title

    assert brief.keyword == normalise_keyword(keyword)
    assert 0 < len(brief.slogan) <= SLOGAN_MAX_CHARS
    assert brief.slogan == brief.slogan.strip()
    assert _words(brief.title)[: len(_words(brief.keyword))] == _words(brief.keyword)
    assert 3 <= len(brief.palette) <= 4
    assert all(HEX.fullmatch(colour) for colour in brief.palette)
    assert brief.style and brief.audience and brief.concept
    assert brief.image_prompt.endswith(".") and brief.slogan in brief.image_prompt
    assert brief.description.count("\n\n") >= 2
    assert "cotton" in brief.description and "print" in brief.description.lower()
    assert "wash" in brief.description


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_same_keyword_gives_identical_brief(keyword: str) -> None:
    assert write_brief(keyword) == write_brief(keyword)


def test_keyword_spacing_and_case_do_not_change_choices() -> None:
    assert write_brief("cat   mom") == write_brief(" cat mom ")
    upper = write_brief("CAT MOM")
    lower = write_brief("cat mom")
    assert (upper.style, upper.palette) == (lower.style, lower.palette)


def test_different_keywords_vary_the_design() -> None:
    briefs = [write_brief(f"{word} lover") for word in ("cat", "dog", "tea", "golf", "yoga")]
    briefs += [write_brief(word) for word in ("coffee", "tacos", "hiking", "chess", "knitting")]
    assert len({b.style for b in briefs}) >= 2
    assert len({tuple(b.palette) for b in briefs}) >= 2
    assert len({b.slogan.replace(b.keyword.title(), "{k}") for b in briefs}) >= 3


def test_typical_brief_reads_well() -> None:
    brief = write_brief("coffee")
    assert "Coffee" in brief.slogan
    assert brief.slogan == brief.slogan.strip()
    assert re.fullmatch(
        r"Coffee Shirt, \w+ [\w ]+ Graphic Tee, Birthday Gift Idea, Unisex Soft Cotton Crewneck",
        brief.title,
    ), brief.title
    assert brief.tags[0] == "coffee shirt"
    assert "funny graphic tee" in brief.tags


def test_once_only_characters_are_spelled_out_after_the_first() -> None:
    brief = write_brief("rock & roll")
    assert brief.title.count("&") == 1
    assert "rock and roll shirt" in brief.tags  # a tag takes no "&" at all
    assert spell_out_repeats("a & b & c: d: e") == "a & b and c: d e"


def test_accents_are_folded_in_title_but_kept_in_tags() -> None:
    brief = write_brief("Café olé")
    assert "Cafe Ole" in brief.title
    assert "café olé shirt" in brief.tags
    assert unicodedata.is_normalized("NFC", brief.keyword)


def test_long_keyword_is_shortened_in_slogan_and_tags() -> None:
    keyword = "the best vintage 1985 birthday gift for grandpa who loves fishing and camping"
    brief = write_brief(keyword)
    assert brief.slogan.startswith("Powered by") or "Best" in brief.slogan
    assert not brief.slogan.lower().endswith((" for", " and", " the"))
    assert brief.tags[0] == "the best vintage"
    assert {"grandpa", "fishing"} <= set(brief.tags)


def test_shortened_keyword_tag_does_not_end_on_a_joining_word() -> None:
    brief = write_brief("tea and cake and the best scones in town")
    assert brief.tags[0] == "tea and cake"


def test_single_overlong_word_gets_an_ellipsis_slogan() -> None:
    brief = write_brief("supercalifragilisticexpialidociousness")
    assert brief.slogan.endswith("…")
    assert len(brief.slogan) == SLOGAN_MAX_CHARS


def test_symbols_do_not_reach_the_artwork_text() -> None:
    brief = write_brief("🐱 cat dad 🐱")
    assert "🐱" not in brief.slogan
    assert "Cat Dad" in brief.slogan
    assert brief.keyword == "🐱 cat dad 🐱"


def test_existing_capitals_are_kept() -> None:
    assert "NASA" in write_brief("NASA space camp").slogan
    assert "Lord of the Rings" in write_brief("Lord Of The Rings").title


def test_palettes_read_on_dark_garments() -> None:
    dark = _relative_luminance("#1B1B1B")
    for name, colours in PALETTES:
        for colour in colours:
            contrast = (_relative_luminance(colour) + 0.05) / (dark + 0.05)
            assert contrast >= 4.5, (name, colour, contrast)


@pytest.mark.parametrize(
    ("keyword", "reason"),
    [
        ("", "at least 2"),
        ("   ", "at least 2"),
        ("a", "at least 2"),
        ("a" * 81, "at most 80"),
        ("12345", "letter"),
        ("!!! ???", "letter"),
        ("🐱🐱🐱", "letter"),
    ],
)
def test_unusable_keywords_are_rejected(keyword: str, reason: str) -> None:
    with pytest.raises(BriefInputError, match=reason):
        write_brief(keyword)


def test_brief_input_error_is_a_value_error() -> None:
    assert issubclass(BriefInputError, ValueError)


LEFTOVERS = ("<", ">", "&lt", "';", ";--", "\u200b", "\x07")


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("<b>cat</b> mom", "cat mom"),
        ("'; DROP TABLE listings;--", "DROP TABLE listings"),
        ("cat\u200b mom\x07", "cat mom"),
        ("mom's 40th birthday", "mom's 40th birthday"),
        ("rock & roll", "rock & roll"),
        ("c++ coder", "c++ coder"),
        ("&lt;i&gt;dog dad&lt;/i&gt;", "dog dad"),
    ],
)
def test_keywords_are_plain_words(keyword: str, expected: str) -> None:
    assert normalise_keyword(keyword) == expected
    brief = write_brief(keyword)
    for text in (brief.title, brief.description, brief.slogan, *brief.tags):
        assert not [part for part in LEFTOVERS if part in text], text


# Search phrases sellers list for, with the traps: product and praise words in the
# keyword, words the descriptors also use (retro, vintage, funny), long phrases.
COPY_KEYWORDS = [
    "cat mom",
    "otter kayaking",
    "retro hiking dog dad",
    "funny cat mom shirt",
    "fathers day grill master",
    "vintage camper van",
    "pickleball grandma",
    "cute axolotl teacher",
    "book lover nurse",
    "mountain biking grandpa",
    "sourdough bread baker",
    "cool aunt club",
    "coffee",
    "plant lady",
    "ugly christmas sweater cat",
    "soccer mom",
    "dungeons and dragons dad",
    "introverted but willing to discuss cats",
    "the best vintage 1985 birthday gift for grandpa who loves fishing and camping",
    "rock & roll",
]


@pytest.mark.parametrize("keyword", COPY_KEYWORDS)
def test_listing_copy_reads_like_a_seller_wrote_it(keyword: str) -> None:
    """The title leads with the buyer's search phrase, once; what follows describes it
    without repeating a word; the tags are each a different search, mostly phrases."""
    brief = write_brief(keyword)
    title, phrase = _words(brief.title), _words(brief.keyword)
    assert title[: len(phrase)] == phrase, brief.title  # leads with it
    rest = title[len(phrase) :]
    assert not _contains_run(rest, phrase), brief.title  # and says it once
    descriptors = [word for word in rest if word not in {"t", "s"}]
    assert len(descriptors) == len(set(descriptors)), brief.title  # no word twice
    assert not set(descriptors) & set(phrase), brief.title  # none of its words again
    assert len(descriptors) >= 4, brief.title  # and it does describe

    keys = [tag_key(tag) for tag in brief.tags]
    assert all(keys) and len(keys) == len(set(keys)), brief.tags  # each a different search
    assert sum(" " in tag for tag in brief.tags) >= len(brief.tags) / 2, brief.tags
    assert len(brief.tags) >= 8, brief.tags
    assert validate_title(brief.title) == [] and validate_tags(brief.tags) == []
