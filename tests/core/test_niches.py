"""The niche rule's pieces: normalisation, content words, keys and the reasons given."""

from __future__ import annotations

import pytest

from domain.niches import (
    MAX_KEYWORD_CHARS,
    niche_key,
    niche_terms,
    normalise_keyword,
    same_niche,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Funny CAT-Mom   Shirt!! ", "funny cat mom shirt"),
        ("Mom's Day", "moms day"),
        ("Mom\u2019s day", "moms day"),  # typographic apostrophe
        ("\uff23\uff21\uff34\u3000\uff2d\uff2f\uff2d", "cat mom"),  # full-width CAT MOM (NFKC)
        ("cat 🐱 mom", "cat mom"),  # emoji are symbols: a space
        ("ﬁshing dad", "fishing dad"),  # the fi ligature
        ("4th of July", "4th of july"),
        ("café mom", "café mom"),  # letters with accents are kept
        ("", ""),
    ],
)
def test_normalise_keyword(raw: str, expected: str) -> None:
    assert normalise_keyword(raw) == expected


def test_normalise_keyword_is_bounded_at_a_word() -> None:
    long = "cat " * 80
    cut = normalise_keyword(long)

    assert len(cut) <= MAX_KEYWORD_CHARS
    assert cut.split() == ["cat"] * len(cut.split())
    assert normalise_keyword("x" * 300) == "x" * MAX_KEYWORD_CHARS


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Funny Cat Mom T-Shirt Gift", {"cat", "mom"}),
        ("cat moms", {"cat", "mom"}),
        ("mother of cats", {"cat", "mom"}),
        ("Mama Bear", {"mom", "bear"}),
        ("merry xmas", {"merry", "christmas"}),
        ("st paddy's day", {"saint", "patrick", "day"}),
        ("father's day", {"dad", "day"}),
        ("witches", {"witch"}),
        ("plant ladies", {"plant", "lady"}),
        ("christmas cookies", {"christmas", "cooki"}),  # stems need not be words
        ("besties", {"friend"}),
        ("pickleball", {"pickleball"}),  # not a plural
        ("i love cats", {"cat"}),
        ("great grandma", {"great", "grandma"}),  # "great" is not praise here
        ("vintage 1985", {"retro", "1985"}),
        ("the best shirt ever", set()),
        # One stem for an activity and its doer; a buyer's synonyms; a paraphrase.
        ("hikers", {"hik"}),
        ("runner moms", {"run", "mom"}),
        ("mom who loves running", {"mom", "run"}),
        ("cyclist grandpa", {"cycl", "grandpa"}),
        ("puppy dad", {"dog", "dad"}),
        ("kittens", {"cat"}),
        ("flower lover", {"flower"}),  # not inflected, and the filler stays filler
    ],
)
def test_niche_terms(text: str, terms: set[str]) -> None:
    assert niche_terms(text) == terms


def test_niche_key_is_order_free_and_sorted() -> None:
    assert niche_key("funny cat mom shirt") == niche_key("Cat Mom, funny") == "cat mom"
    assert niche_key("july 4th") == niche_key("Fourth of July") == "fourth july"
    assert niche_key("soccer mom") != niche_key("hockey mom")
    assert niche_key("gift") == ""


def test_same_content_words_are_one_niche_whatever_the_cosine() -> None:
    match = same_niche("funny cat mom shirt", "cat mom funny", cosine=0.1, threshold=0.9)

    assert match.same
    assert match.reason == "same content words: cat, mom"


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("soccer mom", "hockey mom", "differs in a content word: soccer vs hockey"),
        ("dog mom", "dog dad", "differs in a content word: mom vs dad"),
        ("dog mama", "dog papa", "differs in a content word: mom vs dad"),
        ("christmas cat", "halloween cat", "differs in a content word: christmas vs halloween"),
        ("cat mom", "fishing dad", "different content words: cat mom vs dad fish"),
    ],
)
def test_a_substituted_content_word_vetoes_a_merge_even_at_high_cosine(
    a: str, b: str, reason: str
) -> None:
    match = same_niche(a, b, cosine=0.99, threshold=0.9)

    assert not match.same
    assert match.reason == reason


def test_a_narrower_niche_merges_only_at_or_above_the_threshold() -> None:
    above = same_niche("cat mom", "black cat mom", cosine=0.95, threshold=0.95)
    below = same_niche("black cat mom", "cat mom", cosine=0.94, threshold=0.95)

    assert above.same
    assert above.reason == (
        "narrower niche adds black; cosine 0.950 at or above the threshold 0.950"
    )
    assert not below.same
    assert below.reason == "narrower niche adds black; cosine 0.940 below the threshold 0.950"


def test_keywords_without_content_words_compare_by_cosine_only() -> None:
    assert same_niche("funny shirt", "cute tee", cosine=0.96, threshold=0.9).same
    match = same_niche("funny shirt", "cute gift", cosine=0.5, threshold=0.9)
    assert not match.same
    assert match.reason.startswith("no content words; cosine 0.500 below")
