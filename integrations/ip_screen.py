"""The intellectual-property name screen: brands, slogans, franchises, teams and artists.

An IP complaint can close a seller's shop, so a keyword that names a protected brand,
character, team or artist must not become a listing, however it is spelled:
"Baby Yoda", "baby-yoda", "babyyoda", "BABY YODA's", "b4by y0da" and "yoda baby" are one
name. Ordinary words that happen to be brands ("apple pie", "dove of peace") must pass.

The bundled list is `integrations/local/ip_names.txt`: one name a line, `#` comments,
`[section]` headers giving the category. A name that is also an everyday word carries
context words, `apple | iphone, macbook, logo`, and matches only when one of them is in
the same text. A seller's own list uses the same format and the category "custom".

Both the names and the text go through the same normalisation: accents and case
folded, apostrophes and possessives dropped, words split on anything else; each word
is reduced to a crude singular ("minions" = "minion", "swifties" = "swiftie", and
"lovin'" = "loving"), and a word that mixes letters with digits or `@ $ !` is also read
as leetspeak ("p0kem0n"; names with digits, "49ers", are read as written too).

A name then matches
- as a run of words, written apart or joined: "spider man" = "spiderman" = "spider-man";
- or as its significant words (not "the", "of", "and", "a") in any order within a short
  window: "potter harry", "tour eras". Two-word names made of everyday words ("game boy")
  are left out of this, and a long slogan may miss one of its words.

Names are indexed by their joined form and by one of their words, so a text costs a few
dictionary look-ups per word whatever the size of the list (about 0.3 ms for 400
characters against the bundled list of some 3,400 names).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

_SECTION = re.compile(r"\[\s*([^\]]+?)\s*\]")
# Before NFKD: quotes (right, left, acute, modifier letter, full width) become "'",
# hearts read "love" ("i ♥ ny"), and letters NFKD does not take apart are spelled out.
_UNICODE = str.maketrans(
    dict.fromkeys("\u2019\u2018\u00b4\u02bc\uff07", "'")
    | dict.fromkeys("❤♥♡💙💚💛💜🖤🤍🧡💗💖💕", " love ")
    | {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "\u0131": "i"}
)
_POSSESSIVE = re.compile(r"(?<=[a-z0-9])'s\b")
# `@ $ !` stay inside a word for the leetspeak reading; everything else separates words.
_WORD = re.compile(r"[a-z0-9@$]+(?:!+[a-z0-9@$]+)*")
_SYMBOLS = str.maketrans("", "", "@$!")
_LEET_I = str.maketrans("013457@$!", "oieastasi")
_LEET_L = str.maketrans("013457@$!", "oleastasi")
_STOP_WORDS = frozenset({"the", "of", "and", "a", "an"})
# "potter harry" matches "harry potter": its words may sit this many words apart more.
_WORD_ORDER_SLACK = 1
# A two-word name made only of these matches in its own order alone: "birthday boy game
# day" must not read as "game boy", nor "st patrick's day green" as "green day".
_COMMON_WORDS = """
    air all alone app baby back bad bay beach bear big bill bird black blue boss boy bud
    bull cash castle cat city club cool dad day dead death diet dog dream east eat
    energy face fall family fight fire fish fly free fresh fun game get girl go gold
    golden good green gun happy hard heart high home hot house ice iron it kid kill king
    la lady land life light little live love mad man max meal mean men mini mom monster
    moon mountain new night north old one pink pizza play pop queen racing red rock run
    shake silver sky south space star stone story street summer sun super team time top
    tour town toy tree two united up water west white wild wing winter world yellow you
    your
"""
# A name of this many significant words or more still matches with one of them left out
# ("i solemnly swear i am up to no good").
_LONG_NAME = 5
# Words of the text joined into one name ("super bowl" -> "superbowl") only when the
# joined form is this long, so that two short words do not spell a short name by chance.
_MIN_JOINED = 5
# Readings of one run of words kept at most, when several words read as leetspeak.
_MAX_READINGS = 16


@dataclass(frozen=True)
class ProtectedName:
    """A name that must not appear on a listing."""

    name: str  # as written in the list
    category: str  # its section ("brands", ...; "custom" for a seller's own)
    context: tuple[str, ...] = ()  # ambiguous names: needs one of these words nearby


def parse_names(text: str, category: str = "custom") -> list[ProtectedName]:
    """The names of a list: one a line, `#` comments, `[section]` headers set the category.

    `name | word, word` gives a name its context words.
    """
    names: list[ProtectedName] = []
    for raw in text.splitlines():
        line = raw.partition("#")[0].strip()
        if not line:
            continue
        if line[0] == "[" and (header := _SECTION.fullmatch(line)):
            category = header.group(1).lower()
            continue
        name, bar, context = line.partition("|")
        if name := " ".join(name.split()):
            words = tuple(filter(None, (w.strip() for w in context.split(",")))) if bar else ()
            names.append(ProtectedName(name, category, words))
    return names


def load_protected_names(extra_file: Path | None = None) -> list[ProtectedName]:
    """The bundled list (`integrations/local/ip_names.txt`) plus a seller's optional file."""
    bundled = resources.files("integrations.local").joinpath("ip_names.txt")
    names = parse_names(bundled.read_text("utf-8"))
    if extra_file is not None:
        names += parse_names(extra_file.read_text("utf-8"))
    return names


def _words(text: str) -> list[str]:
    """The words of a text: lower case, accents, apostrophes and possessives dropped."""
    text = text.lower()
    if text.isalnum() and text.isascii():  # one plain word: most names
        return [text]
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_UNICODE))
        text = "".join(c for c in text if not unicodedata.combining(c))
    if "'" in text or "`" in text:
        text = _POSSESSIVE.sub("", text.replace("`", "'")).replace("'", "")
    if "&" in text:
        text = text.replace("&", " and ")
    return _WORD.findall(text)


def _list_words(text: str) -> list[str]:
    """The words of a list: symbols are leetspeak ("a$ap" = "asap"), digits are kept."""
    return [word if word.isalnum() else word.translate(_LEET_I) for word in _words(text)]


def name_key(text: str) -> str:
    """A name as the screen compares it, its words joined: "Spider-Man's" -> "spiderman".

    Two spellings of one name have one key; a text without letters or digits has "".
    """
    return _stem("".join(_list_words(text)))


def _readings(word: str) -> tuple[str, ...]:
    """A word of the text as written (symbols dropped) and, if it mixes, as leetspeak."""
    if word.isalpha() or word.isdigit():
        return (word,)
    plain = word.translate(_SYMBOLS)
    if not any(c.isalpha() for c in plain):  # "2024", "$5": nothing to read as letters
        return (plain,) if plain else ()
    forms = (plain, word.translate(_LEET_I), word.translate(_LEET_L))  # 1 is i or l
    return tuple(dict.fromkeys(forms))


def _stem(word: str) -> str:
    """A crude singular, the same for both sides: "glasses" -> "glass", "swifties" -> "swifty"."""
    if len(word) > 3 and word[-1] == "s" and word[-2] != "s":
        cut = 2 if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")) else 1
        word = word[:-cut]
    if len(word) > 4 and word[-1] in "eg":
        if word.endswith("ie"):  # "swiftie", "phillies" -> "swifty", "philly"
            word = word[:-2] + "y"
        elif len(word) > 5 and word.endswith("ing"):  # "lovin'" = "loving"
            word = word[:-1]
    return word


_COMMON = frozenset(_stem(word) for word in _COMMON_WORDS.split())


class _Pattern:
    """A list name, normalised; compared by identity."""

    __slots__ = ("context", "index", "significant", "size")

    def __init__(self, index: int, size: int, context: frozenset[str]) -> None:
        self.index = index  # into the matcher's names
        self.size = size  # its number of words
        self.context = context  # joined keys of its context words; empty: none needed
        self.significant: frozenset[str] = frozenset()  # for any order: stems, no stop words


class IpMatcher:
    """Finds the protected names in a text."""

    def __init__(self, names: Iterable[ProtectedName]) -> None:
        self._names = list(dict.fromkeys(names))
        # A name's words joined and stemmed ("starwar") -> the names spelled so.
        self._joined: dict[str, list[_Pattern]] = defaultdict(list)
        # A significant word -> the names of several words that may match in any order.
        self._by_word: dict[str, list[_Pattern]] = defaultdict(list)
        self._context_keys: set[str] = set()
        spelled: set[str] = set()
        joined_names = self._joined

        @cache  # the same few context words come back for many names
        def context_key(phrase: str) -> str:
            joined = "".join(_list_words(phrase))
            spelled.add(joined)
            self._context_keys.add(key := _stem(joined))
            return key

        no_context: frozenset[str] = frozenset()
        for index, name in enumerate(self._names):
            words = _list_words(name.name)
            if not words:
                continue
            context = no_context
            if name.context:
                context = frozenset(filter(None, map(context_key, name.context)))
            pattern = _Pattern(index, len(words), context)
            joined = "".join(words)
            spelled.add(joined)
            joined_names[_stem(joined)].append(pattern)
            if len(words) > 1:
                self._index_any_order(pattern, words)
                # "the masters" is also "masters", its context words keeping it apart
                if context and words[0] == "the":
                    spelled.add(joined := joined[3:])
                    joined_names[_stem(joined)].append(pattern)
        # Names and context words written without spaces, sorted: a run of text words
        # grows only while it is the start of one of them.
        self._spelled = sorted(spelled)

    def _index_any_order(self, pattern: _Pattern, words: list[str]) -> None:
        """Index a name of several words under one of them (any of them for a long one)."""
        significant = frozenset(_stem(word) for word in words if word not in _STOP_WORDS)
        pattern.significant = significant
        if len(significant) >= _LONG_NAME:
            for word in significant:  # any one of them may be the missing word
                self._by_word[word].append(pattern)
        elif len(significant) > 2 or (len(significant) == 2 and not significant <= _COMMON):
            self._by_word[min(significant)].append(pattern)

    def __len__(self) -> int:
        return len(self._names)

    def find(self, text: str, *, prose: bool = False) -> list[ProtectedName]:
        """Every protected name found in the text, in list order, each once.

        `prose` is for long text (a listing description): its many words make chance
        company likely, so there a name needs no context words and is written as the
        list writes it, not joined from more words ("good vibes only fans" is no
        "onlyfans", "target" beside "store" no retailer).
        """
        readings = [forms for forms in map(_readings, _words(text)) if forms]
        stems = [{_stem(form) for form in forms} for forms in readings]
        candidates, seen_keys, joined = self._in_runs(readings, stems)
        candidates |= self._in_any_order(stems)
        if prose:
            candidates = {p for p in candidates - joined if not p.context}
        found = {
            pattern.index
            for pattern in candidates
            if not pattern.context or pattern.context & seen_keys
        }
        return [self._names[index] for index in sorted(found)]

    def _in_runs(
        self, readings: list[tuple[str, ...]], stems: list[set[str]]
    ) -> tuple[set[_Pattern], set[str], set[_Pattern]]:
        """The names, and the context words, spelled by runs of words, apart or joined;
        and the names found only joined from more words than they have."""
        joined_names, context_keys, spelled = self._joined, self._context_keys, self._spelled
        candidates: set[_Pattern] = set()
        seen_keys: set[str] = set()
        joined: set[_Pattern] = set()
        for start, forms in enumerate(readings):
            for key in stems[start]:  # one word: the common case, stems already known
                candidates.update(joined_names.get(key, ()))
                if key in context_keys:
                    seen_keys.add(key)
            partials = list(forms)
            single_letters = all(len(form) == 1 for form in forms)  # "n.f.l." = "nfl"
            for end in range(start + 1, len(readings)):  # while the prefix test allows
                partials = [
                    partial
                    for partial in partials
                    if (at := bisect_left(spelled, partial)) < len(spelled)
                    and spelled[at].startswith(partial)
                ]
                if not partials:
                    break
                forms = readings[end]
                single_letters = single_letters and all(len(form) == 1 for form in forms)
                partials = [p + f for p in partials for f in forms][:_MAX_READINGS]
                size = end - start + 1
                for partial in partials:
                    key = _stem(partial)
                    if key in context_keys:
                        seen_keys.add(key)
                    for pattern in joined_names.get(key, ()):
                        # A name's word split in two spells it; short words joined
                        # into a short name ("le go" -> "lego") would be chance.
                        if size <= pattern.size:
                            candidates.add(pattern)
                        elif len(key) >= _MIN_JOINED or single_letters:
                            joined.add(pattern)
        return candidates | joined, seen_keys, joined - candidates

    def _in_any_order(self, stems: list[set[str]]) -> set[_Pattern]:
        """Names whose significant words all appear close together, in any order."""
        positions: dict[str, list[int]] = defaultdict(list)
        for position, words in enumerate(stems):
            for stem in words:
                positions[stem].append(position)
        found: set[_Pattern] = set()
        for stem in positions:
            for pattern in self._by_word.get(stem, ()):
                if pattern not in found and _close_together(pattern.significant, positions):
                    found.add(pattern)
        return found


def _close_together(words: frozenset[str], positions: dict[str, list[int]]) -> bool:
    """Whether the words (all, or all but one of a long name) lie in a short window."""
    required = len(words) - 1 if len(words) >= _LONG_NAME else len(words)
    present = words & positions.keys()
    if len(present) < required:
        return False
    places = sorted((position, word) for word in present for position in positions[word])
    window = len(words) + _WORD_ORDER_SLACK
    counts: dict[str, int] = defaultdict(int)
    first = 0
    for position, word in places:
        counts[word] += 1
        while places[first][0] <= position - window:
            dropped = places[first][1]
            counts[dropped] -= 1
            if not counts[dropped]:
                del counts[dropped]
            first += 1
        if len(counts) >= required:
            return True
    return False
