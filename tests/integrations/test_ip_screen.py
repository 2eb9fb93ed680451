"""The IP name screen catches protected names however they are written, and only them.

The two keyword sets in `tests/data/` measure the bundled list and the matcher together:
recall on keywords that infringe (`ip_protected.txt`), false positives on keywords that
do not (`ip_clean.txt`). The unit tests below pin each normalisation rule on small lists.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from integrations.ip_screen import IpMatcher, ProtectedName, load_protected_names, parse_names

DATA = Path(__file__).resolve().parents[1] / "data"
SECTIONS = {"brands", "slogans", "entertainment", "sports", "music"}
STOP_WORDS = {"the", "of", "and", "a", "an"}


def _keywords(name: str) -> list[tuple[str, str]]:
    """(keyword, its trailing comment) for each keyword line of a data file."""
    lines = (DATA / name).read_text("utf-8").splitlines()
    pairs = [(line.split("#", 1)[0].strip(), line.partition("#")[2].strip()) for line in lines]
    return [(keyword, comment) for keyword, comment in pairs if keyword]


def _squeezed(text: str) -> str:
    """Lower case, no accents, letters and digits only: "Star-Wars" -> "starwars"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", plain)


def _names_in(names: list[ProtectedName], *texts: str) -> list[list[str]]:
    matcher = IpMatcher(names)
    return [sorted(name.name for name in matcher.find(text)) for text in texts]


@pytest.fixture(scope="module")
def bundled() -> list[ProtectedName]:
    return load_protected_names()


@pytest.fixture(scope="module")
def matcher(bundled: list[ProtectedName]) -> IpMatcher:
    return IpMatcher(bundled)


def test_the_bundled_list_is_broad_and_sectioned(bundled: list[ProtectedName]) -> None:
    distinct = {_squeezed(name.name) for name in bundled}
    assert len(distinct) >= 1000
    assert {name.category for name in bundled} == SECTIONS
    for section in SECTIONS:
        assert sum(name.category == section for name in bundled) >= 100, section
    # Written lower case, and no empty context word ("name | a,, b").
    assert all(name.name == name.name.lower() for name in bundled)
    assert all(all(word for word in name.context) for name in bundled)


def test_recall_and_false_positives_on_the_keyword_sets(matcher: IpMatcher) -> None:
    protected = [keyword for keyword, _ in _keywords("ip_protected.txt")]
    clean = [keyword for keyword, _ in _keywords("ip_clean.txt")]

    misses = [keyword for keyword in protected if not matcher.find(keyword)]
    found = {keyword: [name.name for name in matcher.find(keyword)] for keyword in clean}
    flagged = {keyword: names for keyword, names in found.items() if names}
    hits, n = len(protected) - len(misses), len(protected)
    recall, fp = hits / n, len(flagged) / len(clean)
    print(  # noqa: T201 - the figures are the point of a `-s` run
        f"IP screen: recall {recall:.3f} ({hits}/{n}), "
        f"false positives {fp:.3%} ({len(flagged)}/{len(clean)})"
    )

    assert recall >= 0.95, f"missed: {misses}"
    assert fp <= 0.02, f"flagged: {flagged}"


def test_the_protected_set_is_mostly_variants(bundled: list[ProtectedName]) -> None:
    """Most keywords do not contain any name as the list writes it, nor equal one squeezed.

    That is, a plain whole-word search for the list's names (the way the older trademark
    screen works) would miss them: other order, plurals, joined words, leetspeak, accents.
    """
    protected = [keyword for keyword, _ in _keywords("ip_protected.txt")]
    spellings = sorted({re.escape(name.name) for name in bundled}, key=len, reverse=True)
    literal = re.compile(rf"(?<!\w)(?:{'|'.join(spellings)})(?!\w)")
    squeezed_names = {_squeezed(name.name) for name in bundled}

    variants = [
        keyword
        for keyword in protected
        if _squeezed(keyword) not in squeezed_names and not literal.search(keyword.lower())
    ]

    assert len(protected) >= 150
    assert len(variants) >= len(protected) / 2, f"only {len(variants)} variants"


def test_the_clean_set_shares_words_with_protected_names(bundled: list[ProtectedName]) -> None:
    clean = _keywords("ip_clean.txt")
    by_name = {name.name: name for name in bundled}
    shares = [(k, c.removeprefix("shares:").strip()) for k, c in clean if c.startswith("shares:")]

    assert len(clean) >= 150
    assert len(shares) >= 30
    for keyword, shared in shares:
        assert shared in by_name, f"{keyword!r}: {shared!r} is not a listed name"
        words = [w for w in re.split(r"[\s/-]+", shared) if w not in STOP_WORDS]
        # The word as the matcher reads it, plurals and spacing folded ("light year").
        assert any(IpMatcher(parse_names(word)).find(keyword) for word in words), keyword


@pytest.mark.parametrize(
    ("names", "texts"),
    [
        # Case
        ("nike", ["NIKE running", "Nike"]),
        # Accents, both ways
        ("pokémon", ["pokemon go", "POKÉMON", "pokèmon"]),
        ("beyonce", ["Beyoncé tour"]),
        # Punctuation, spacing, joined words, both ways
        ("spider-man", ["spider man", "spiderman", "Spider-Man!", "spider.man", "#SpiderMan"]),
        ("coca cola", ["coca-cola", "cocacola", "Coca Cola"]),
        ("i'm lovin' it", ["im lovin it", "I\u2019m Lovin\u2019 It", "i'm loving it"]),
        ("r2-d2", ["r2d2 droid", "R2 D2"]),
        # Possessives
        ("disney", ["disney's castle", "Disney\u2019s"]),
        ("mcdonald's", ["mcdonalds fries", "mcdonald fries"]),
        # Plurals and singulars, both ways
        ("pokemon", ["pokemons"]),
        ("minions", ["minion costume", "minions"]),
        ("avengers", ["avenger"]),
        ("yankee", ["yankees"]),
        ("swifties", ["swiftie", "swifty"]),
        ("teletubbies", ["teletubby"]),
        ("ferrari", ["ferraris"]),
        # Leetspeak inside words that mix letters with digits or symbols
        ("pokemon", ["p0kem0n trainer"]),
        ("nike", ["n1ke"]),
        ("disney", ["d1sney"]),
        ("star wars", ["$tar war$"]),
        ("hello kitty", ["he11o k1tty"]),
        # Names with digits stay as written
        ("49ers", ["49ers", "niners 49ers"]),
        ("blink-182", ["blink 182", "blink182", "b1ink-182"]),
        ("maroon 5", ["maroon 5 concert"]),
        # Other word order, within a short window
        ("harry potter", ["potter harry"]),
        ("star wars", ["wars star"]),
        ("the eras tour", ["the eras tour", "tour eras", "eras tour"]),
        ("i solemnly swear that i am up to no good", ["i solemnly swear i am up to no good"]),
        # Hearts read "love"
        ("i love ny", ["i ♥ ny", "I ❤ NY"]),
    ],
)
def test_normalised_spellings_match(names: str, texts: list[str]) -> None:
    expected = sorted(name.name for name in parse_names(names))

    assert _names_in(parse_names(names), *texts) == [expected] * len(texts)


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ("harry potter", "harry went to the store for a potter's wheel"),  # too far apart
        ("game boy", "birthday boy game day"),  # common words: their own order only
        ("green day", "st patrick's day green"),
        ("m3gan", "megan"),  # digits of a name are not read as leetspeak
        ("49ers", "a9ers"),
        ("pokemon", "poke"),
        ("lego", "le go"),  # short words are not joined into a short name by chance
        ("nike", "ni ke"),
        ("nike", "nikel"),
    ],
)
def test_near_misses_do_not_match(names: str, text: str) -> None:
    assert _names_in(parse_names(names), text) == [[]]


def test_ambiguous_names_need_a_context_word() -> None:
    names = parse_names(
        "apple | iphone, macbook, logo, apple watch\n"
        "amazon | prime, alexa, delivery driver\n"
        "red bull | energy, gives you wings\n"
    )

    found = _names_in(
        names,
        "apple pie lover",
        "apple iphone case",
        "Apple logo tee",
        "apple watch band",
        "amazon parrot",
        "amazon delivery driver",
        "delivery of an amazon parrot by a driver",  # the words, not the phrase
        "red bull terrier",
        "red bull energy",
        "apples and iphones",
    )

    assert found == [
        [],
        ["apple"],
        ["apple"],
        ["apple"],
        [],
        ["amazon"],
        [],
        [],
        ["red bull"],
        ["apple"],
    ]


def test_the_bundled_list_keeps_everyday_words_apart(matcher: IpMatcher) -> None:
    for text in ["dove of peace", "shell collector", "jaguar cat", "giants of the sea"]:
        assert matcher.find(text) == [], text
    for text in ["baby yoda christmas sweater", "swifties eras tour", "Dallas Cowboys mom"]:
        assert matcher.find(text), text


def test_custom_names_use_the_same_matching(tmp_path: Path) -> None:
    extra = tmp_path / "mine.txt"
    extra.write_text("# my shop's own brands\nFluffy Llama Co\nzorbo | shop, logo\n", "utf-8")

    names = load_protected_names(extra)
    custom = [name for name in names if name.category == "custom"]
    found = IpMatcher(names).find("FLUFFY-LLAMA-CO tee with the zorbo logo")

    assert custom == [
        ProtectedName("Fluffy Llama Co", "custom"),
        ProtectedName("zorbo", "custom", ("shop", "logo")),
    ]
    assert found == custom
    assert IpMatcher(names).find("zorbo") == []


def test_find_returns_each_name_once_in_list_order() -> None:
    names = parse_names("pikachu\nnike\nnike\nstar wars | jedi\n")
    matcher = IpMatcher(names)

    found = matcher.find("Nike, NIKE and n1ke; a jedi from star wars with pikachu, wars star")

    assert [name.name for name in found] == ["pikachu", "nike", "star wars"]


def test_names_that_normalise_to_nothing_are_skipped() -> None:
    names = [ProtectedName("!!!", "custom"), ProtectedName("'", "custom"), *parse_names("lego")]

    assert IpMatcher(names).find("!!! ' lego") == [ProtectedName("lego", "custom")]
    assert IpMatcher([]).find("anything at all") == []


def test_parse_names_reads_sections_comments_and_context() -> None:
    text = "\n".join(
        [
            "# a comment line",
            "before any section",
            "[Brands]",
            "nike   # a comment after a name",
            "apple |  iphone , macbook,,  logo",
            "  [ sports ]",
            "new   york    giants",
            "giants | new york, ny",
            "",
            "trailing | ",
            " | context of no name",
        ]
    )

    names = parse_names(text)

    assert names == [
        ProtectedName("before any section", "custom"),
        ProtectedName("nike", "brands"),
        ProtectedName("apple", "brands", ("iphone", "macbook", "logo")),
        ProtectedName("new york giants", "sports"),
        ProtectedName("giants", "sports", ("new york", "ny")),
        ProtectedName("trailing", "sports"),
    ]
    assert parse_names("x", category="brands") == [ProtectedName("x", "brands")]
