"""Etsy's rules for listing titles and tags, as pure functions shared by every brief writer.

Etsy rejects a whole draft listing when one title character or one tag is wrong, so the
copy is cleaned here before it ever reaches the API, and the same rules are checked again
(`validate_*`) where a brief comes from a less predictable source such as a language model.

Rules (docs/external-apis.md, "Text constraints"):
- Title: at most 140 characters of letters, numbers, punctuation, math symbols, whitespace
  and ™ © ®; `%`, `:`, `&` and `+` at most once each; at most three words in capitals
  (Etsy's seller rule). Accented letters have been rejected by Etsy's validator before,
  so titles are folded to unaccented letters.
- Any text for a listing (title, tags, description, the keyword it came from) is plain
  text first (`plain_text`): markup, entities, control and invisible characters go.
- Tags: at most 13, each at most 20 characters of letters, numbers, whitespace, `-`, `'`
  and ™ © ®; no duplicates.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

TITLE_MAX_CHARS = 140
TITLE_MAX_CAPS_WORDS = 3
DESCRIPTION_MAX_CHARS = 5000
TAG_MAX_CHARS = 20
MAX_TAGS = 13

TRADEMARK_SIGNS = frozenset("™©®")
TITLE_ONCE_ONLY = "%:&+"
TAG_EXTRA_CHARS = frozenset("-'")

_WHITESPACE = re.compile(r"\s+")
# A tag of markup: `<b>`, `</a>`, `<img src=x onerror=...>`, `<!-- ... -->`.
_MARKUP = re.compile(r"<!--.*?-->|<\s*/?\s*[A-Za-z!?][^<>]*>", re.DOTALL)
_BLANK_LINES = re.compile(r"\n{3,}")
# Characters left dangling at the end of a title after cutting it at a word boundary.
_TRAILING_JOINERS = " ,;-/|&+:\u2013\u2014"  # incl. en and em dash


def fold_accents(text: str) -> str:
    """Remove combining accents ("Café" -> "Cafe") but keep base letters of any script.

    Canonical (NFD) decomposition is used on purpose: the compatibility form would also
    turn ™ into "TM".
    """
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def plain_text(text: str, *, keep_newlines: bool = False) -> str:
    """`text` as plain words: markup tags and entities removed (`<b>Cat</b>` -> "Cat",
    `&amp;` -> "&"), control and invisible format characters dropped, whitespace collapsed
    (newlines kept, two at most in a row, when `keep_newlines`)."""
    text = _MARKUP.sub(" ", html.unescape(_MARKUP.sub(" ", text)))
    kept = "".join(
        ch
        for ch in unicodedata.normalize("NFC", text)
        if (keep_newlines and ch == "\n")
        or ch.isspace()
        or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Cn")
    )
    if not keep_newlines:
        return _collapse(kept)
    lines = [_collapse(line) for line in kept.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def capital_words(title: str) -> list[str]:
    """The words of `title` written in capitals (two letters or more, none lower case)."""
    words = ("".join(ch for ch in word if ch.isalpha()) for word in title.split())
    return [word for word in words if len(word) >= 2 and word.isupper()]


def _limit_capitals(title: str) -> str:
    """`title` with words in capitals after the third written in title case."""
    seen = 0
    words = []
    for word in title.split(" "):
        letters = "".join(ch for ch in word if ch.isalpha())
        if len(letters) >= 2 and letters.isupper():
            seen += 1
            if seen > TITLE_MAX_CAPS_WORDS:
                word = word.capitalize()
        words.append(word)
    return " ".join(words)


def clean_description(text: str) -> str:
    """A listing description: plain text, paragraphs kept, at most 5000 characters."""
    return _cut_at_word(plain_text(text, keep_newlines=True), DESCRIPTION_MAX_CHARS).strip()


def _is_title_char(ch: str) -> bool:
    if ch.isspace() or ch in TRADEMARK_SIGNS:
        return True
    category = unicodedata.category(ch)
    # L* letters, N* numbers, P* punctuation, Sm math symbols.
    return category[0] in "LNP" or category == "Sm"


def _is_tag_char(ch: str) -> bool:
    if ch.isspace() or ch in TRADEMARK_SIGNS or ch in TAG_EXTRA_CHARS:
        return True
    return unicodedata.category(ch)[0] in "LN"


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _cut_at_word(text: str, limit: int, trailing: str = " ") -> str:
    """`text` shortened to at most `limit` characters, cut between words when possible."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    space = head.rfind(" ")
    cut = head[:space] if space > 0 else text[:limit]
    return cut.rstrip(trailing)


def clean_title(text: str) -> str:
    """A title Etsy accepts, made from `text` with as little change as possible.

    Removes markup, folds accents, drops characters Etsy refuses, keeps only the first of
    each of `% : & +`, writes capitals past the third word in title case, collapses
    whitespace and trims to 140 characters at a word boundary.
    """
    kept: list[str] = []
    seen_once: set[str] = set()
    for ch in fold_accents(plain_text(text)):
        if not _is_title_char(ch):
            continue
        if ch in TITLE_ONCE_ONLY:
            if ch in seen_once:
                continue
            seen_once.add(ch)
        kept.append(ch)
    title = _limit_capitals(_collapse("".join(kept)))
    return _cut_at_word(title, TITLE_MAX_CHARS, _TRAILING_JOINERS).strip()


def tag_text(text: str) -> str:
    """`text` in tag form (lower case, refused characters as spaces) but of any length."""
    normalised = plain_text(text).lower()
    spaced = "".join(ch if _is_tag_char(ch) else " " for ch in normalised)
    return _collapse(spaced).strip("-' ")


def clean_tag(text: str) -> str:
    """One tag cleaned: lower case, refused characters become spaces, at most 20 characters.

    Returns "" when nothing usable is left (no letter or digit, or a single word longer
    than 20 characters that cannot be shortened at a word boundary).
    """
    tag = tag_text(text)
    if len(tag) > TAG_MAX_CHARS:
        # Whole leading words only: a cut inside a word leaves a fragment such as "supercali".
        words = tag.split(" ")
        kept = words[0]
        for word in words[1:]:
            if len(kept) + 1 + len(word) > TAG_MAX_CHARS:
                break
            kept = f"{kept} {word}"
        tag = kept.strip("-' ") if len(kept) <= TAG_MAX_CHARS else ""
    if not any(ch.isalnum() for ch in tag):
        return ""
    return tag


def clean_tags(candidates: Iterable[str]) -> list[str]:
    """Up to 13 valid, distinct tags from `candidates`, in their original order."""
    tags: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        tag = clean_tag(candidate)
        key = tag.casefold()
        if not tag or key in seen:
            continue
        seen.add(key)
        tags.append(tag)
        if len(tags) == MAX_TAGS:
            break
    return tags


def validate_title(title: str) -> list[str]:
    """Problems Etsy (or its observed validator) would have with `title`; empty if none."""
    problems: list[str] = []
    if not title.strip():
        return ["title is empty"]
    if len(title) > TITLE_MAX_CHARS:
        problems.append(f"title is {len(title)} characters; the limit is {TITLE_MAX_CHARS}")
    refused = sorted({ch for ch in title if not _is_title_char(ch)})
    if refused:
        problems.append(f"title contains characters Etsy refuses: {''.join(refused)!r}")
    for ch in TITLE_ONCE_ONLY:
        if title.count(ch) > 1:
            problems.append(f"title uses {ch!r} {title.count(ch)} times; Etsy allows it once")
    if fold_accents(title) != title:
        problems.append("title contains accented letters, which Etsy has rejected")
    if title != title.strip() or "  " in title:
        problems.append("title has leading, trailing or repeated spaces")
    capitals = capital_words(title)
    if len(capitals) > TITLE_MAX_CAPS_WORDS:
        problems.append(
            f"title has {len(capitals)} words in capitals ({', '.join(capitals)}); "
            f"Etsy allows {TITLE_MAX_CAPS_WORDS}"
        )
    if plain_text(title) != title:
        problems.append("title contains markup or invisible characters")
    return problems


def validate_tags(tags: list[str]) -> list[str]:
    """Problems Etsy would have with `tags`; empty if none."""
    problems: list[str] = []
    if len(tags) > MAX_TAGS:
        problems.append(f"{len(tags)} tags; Etsy allows at most {MAX_TAGS}")
    seen: set[str] = set()
    for tag in tags:
        if not tag.strip():
            problems.append("a tag is empty")
            continue
        if len(tag) > TAG_MAX_CHARS:
            problems.append(f"tag {tag!r} is {len(tag)} characters; the limit is {TAG_MAX_CHARS}")
        refused = sorted({ch for ch in tag if not _is_tag_char(ch)})
        if refused:
            problems.append(f"tag {tag!r} contains characters Etsy refuses: {''.join(refused)!r}")
        key = tag.strip().casefold()
        if key in seen:
            problems.append(f"tag {tag!r} is a duplicate")
        seen.add(key)
    return problems
