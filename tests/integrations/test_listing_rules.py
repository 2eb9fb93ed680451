"""Etsy title and tag rules: cleaning produces copy that validation accepts."""

from __future__ import annotations

import pytest

from domain.listing_rules import (
    MAX_TAGS,
    TAG_MAX_CHARS,
    TITLE_MAX_CHARS,
    capital_words,
    clean_description,
    clean_tag,
    clean_tags,
    clean_title,
    fold_accents,
    plain_text,
    tag_text,
    validate_tags,
    validate_title,
)

MESSY_TITLES = [
    "Cat Mom Shirt",
    "Café Olé Crème Brûlée Tee",
    "100% Cotton: 100% Fun & Games & More + Extra + More: Yes %",
    "Emoji 🐱🔥 and $dollars$ ^caret^ `tick` Shirt",
    "Tabs\tand\nnewlines   and    spaces",
    "Brand™ Logo© Registered® Tee",
    "word " * 60,
    "x" * 200,
    "Math = fun < all > none ~ some | Tee",
    "猫好き Tシャツ",
]


@pytest.mark.parametrize("raw", MESSY_TITLES)
def test_clean_title_output_always_validates(raw: str) -> None:
    title = clean_title(raw)
    assert title
    assert validate_title(title) == []


def test_clean_title_keeps_first_of_each_once_only_character() -> None:
    title = clean_title("50% Off: Rock & Roll & Jazz + Blues + Soul: 20% More")
    assert title == "50% Off: Rock & Roll Jazz + Blues Soul 20 More"


def test_clean_title_drops_refused_characters_and_folds_accents() -> None:
    assert clean_title("Café 🐱 Crème $5 Tee™") == "Cafe Creme 5 Tee™"


def test_clean_title_collapses_whitespace() -> None:
    assert clean_title("  Cat \t Mom\n\nShirt  ") == "Cat Mom Shirt"


def test_clean_title_trims_at_a_word_boundary() -> None:
    raw = ", ".join(f"Word{i}" for i in range(40))
    title = clean_title(raw)
    assert len(title) <= TITLE_MAX_CHARS
    assert raw.startswith(title)
    # Cut between words, and no dangling comma.
    assert title.split(" ")[-1].startswith("Word")
    assert not title.endswith(",")


def test_clean_title_cuts_a_single_overlong_word() -> None:
    assert clean_title("y" * 150) == "y" * TITLE_MAX_CHARS


def test_fold_accents_keeps_trademark_and_other_scripts() -> None:
    assert fold_accents("Ñandú™ 猫 Москва") == "Nandu™ 猫 Москва"


@pytest.mark.parametrize(
    ("title", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a" * 141, "141 characters"),
        ("Cat 🐱 Shirt", "refuses"),
        ("Price $5", "refuses"),
        ("50% and 20% off", "'%' 2 times"),
        ("a: b: c", "':' 2 times"),
        ("Rock & Roll & Jazz", "'&' 2 times"),
        ("1 + 1 + 1", "'+' 2 times"),
        ("Café Shirt", "accented"),
        (" Cat Shirt", "spaces"),
        ("Cat  Shirt", "spaces"),
    ],
)
def test_validate_title_reports_each_problem(title: str, fragment: str) -> None:
    problems = validate_title(title)
    assert any(fragment in problem for problem in problems), problems


def test_validate_title_accepts_a_typical_title() -> None:
    title = "Powered by Coffee Shirt, Funny Coffee Tee, Coffee Lover Gift, Unisex T-Shirt"
    assert validate_title(title) == []
    assert validate_title("50% Off: Rock & Roll + Jazz™") == []


def test_clean_tag_normalises_case_and_characters() -> None:
    assert clean_tag("  Rock&Roll  Shirt!! ") == "rock roll shirt"
    assert clean_tag("Mom's T-Shirt") == "mom's t-shirt"
    assert clean_tag("Café Olé") == "café olé"
    assert clean_tag("🐱🔥") == ""
    assert clean_tag("--''--") == ""


def test_clean_tag_shortens_at_word_boundary_or_drops() -> None:
    assert clean_tag("the best vintage 1985 birthday gift") == "the best vintage"
    assert clean_tag("abcdefghijklmnopqrst more") == "abcdefghijklmnopqrst"
    assert clean_tag("supercalifragilisticexpialidocious") == ""
    assert clean_tag("a" * 20) == "a" * 20


def test_tag_text_has_no_length_limit() -> None:
    assert tag_text("The Best Vintage 1985 Birthday Gift!") == "the best vintage 1985 birthday gift"


def test_clean_tags_dedupes_keeps_order_and_caps_at_13() -> None:
    candidates = ["Cat", "cat", "CAT!", "", "🐱", "Dog", *(f"tag {i}" for i in range(20))]
    tags = clean_tags(candidates)
    assert tags[:3] == ["cat", "dog", "tag 0"]
    assert len(tags) == MAX_TAGS
    assert validate_tags(tags) == []


def test_clean_tags_accepts_any_iterable() -> None:
    assert clean_tags(tag for tag in ("Alpha", "Beta")) == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ([f"t{i}" for i in range(14)], "14 tags"),
        (["x" * 21], "21 characters"),
        (["cat!"], "refuses"),
        (["cat", "Cat"], "duplicate"),
        (["", "cat"], "empty"),
    ],
)
def test_validate_tags_reports_each_problem(tags: list[str], fragment: str) -> None:
    problems = validate_tags(tags)
    assert any(fragment in problem for problem in problems), problems


def test_validate_tags_accepts_valid_tags() -> None:
    tags = ["cat mom", "mom's t-shirt", "café olé", "brand™", "x" * TAG_MAX_CHARS]
    assert validate_tags(tags) == []


def test_plain_text_drops_markup_entities_and_invisible_characters() -> None:
    assert plain_text("<b>Cat</b> mom &amp; <i>dad</i>") == "Cat mom & dad"
    assert plain_text("&lt;script&gt;alert(1)&lt;/script&gt; hi") == "alert(1) hi"
    assert plain_text("cat\u200b\u202e mom\x00\x1b") == "cat mom"
    assert plain_text("3 < 4 and 5 > 2") == "3 < 4 and 5 > 2"  # not markup: kept
    assert plain_text("a\n\n\n\nb\r\nc <br> d", keep_newlines=True) == "a\n\nb\nc d"
    assert clean_description("<p>Soft tee.</p>\n\n<p>Machine wash.</p>") == (
        "Soft tee.\n\nMachine wash."
    )


def test_at_most_three_words_in_capitals() -> None:
    assert validate_title("BEST CAT MOM Ever") == []
    assert validate_title("BEST CAT MOM EVER") == [
        "title has 4 words in capitals (BEST, CAT, MOM, EVER); Etsy allows 3"
    ]
    assert clean_title("FUNNY CAT MOM SHIRT GIFT") == "FUNNY CAT MOM Shirt Gift"
    assert validate_title(clean_title("FUNNY CAT MOM SHIRT GIFT")) == []
    assert capital_words("NASA Space Camp, 2XL, I") == ["NASA", "XL"]
    assert validate_title(clean_title("<b>Retro</b> Cat")) == []
    assert validate_title("<b>Retro</b> Cat") == ["title contains markup or invisible characters"]
