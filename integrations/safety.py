"""Content safety: profanity and slurs, protected names, and optional moderation.

- **Profanity and slurs**: better-profanity's maintained word list and matcher (whole
  words, masked and leetspeak spellings such as "sh1t" or "f*ck"), less the words sellers
  use innocently (`integrations/local/profanity_allowed.txt`: identity words of pride
  designs, "hell yeah", a pickleball "dink"), plus our own terms
  (`integrations/local/blocklist.txt`, hate symbols and phrases the library lacks) and
  the operator's (`POD_BLOCKLIST_FILE`).
- **Protected names** (`integrations/ip_screen.py`): brands, slogans, franchises and
  their characters, teams, artists; the platform's bundled list plus the operator's
  (`POD_TRADEMARK_FILE`) and, per run, the tenant's own (`/v1/protected-names`).

`ContentScreen` runs on a brief before any image is made, and on the keyword before a
model is asked to write a brief: the local lists first (free, and a protected name is
never sent anywhere), then, when a model vendor is in use, its moderation endpoint on the
same text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from better_profanity import Profanity

from integrations.ip_screen import IpMatcher
from models.payloads import DesignBrief


def _read_terms(package: str, name: str, extra_file: Path | None = None) -> list[str]:
    text = resources.files(package).joinpath(name).read_text("utf-8")
    if extra_file is not None:
        text += "\n" + extra_file.read_text("utf-8")
    terms = {line.split("#", 1)[0].strip().lower() for line in text.splitlines()}
    return sorted(term for term in terms if term)


def load_terms(extra_file: Path | None = None) -> list[str]:
    """Our blocked terms (beside the library's) plus the optional extra file."""
    return _read_terms("integrations.local", "blocklist.txt", extra_file)


class ProfanityScreen:
    """Whole-word profanity and slurs, in the spellings people use to get past a filter.

    better-profanity checks a text against every entry of its list, about 0.3 ms per
    character with its 900 entries (a brief's description took 0.19 s). So a text is
    checked a word at a time against the single-word entries, each distinct word once
    per process (`functools.lru_cache`: briefs repeat their words), and whole against
    the few phrases only.
    """

    def __init__(self, extra_terms: Iterable[str] = ()) -> None:
        allowed = set(_read_terms("integrations.local", "profanity_allowed.txt"))
        terms = [
            term
            for term in [*_read_terms("better_profanity", "profanity_wordlist.txt"), *extra_terms]
            if term.lower() not in allowed
        ]
        words = Profanity([])
        words.load_censor_words([t for t in terms if " " not in t.strip()])
        self._phrases = Profanity([])
        self._phrases.load_censor_words([t for t in terms if " " in t.strip()])
        self._word_is_profane = lru_cache(maxsize=65_536)(words.contains_profanity)
        self.size = len(words.CENSOR_WORDSET) + len(self._phrases.CENSOR_WORDSET)

    def find(self, text: str) -> list[str]:
        """The offending words of `text` as written, and any offending phrase whole."""
        found = [word for word in text.split() if self._word_is_profane(word.lower())]
        if self._phrases.contains_profanity(text):
            found.append(" ".join(text.split()))
        return found


# Long text, where everyday-word names and names joined from several words are not
# judged (`IpMatcher.find(prose=True)`): the keyword, slogan, title and tags are.
PROSE_FIELDS = frozenset({"description", "image_prompt", "concept"})


def brief_fields(brief: DesignBrief) -> dict[str, str]:
    """The text of a brief that ends up on a product or goes to an image model."""
    return {
        "keyword": brief.keyword,
        "slogan": brief.slogan,
        "title": brief.title,
        "tags": " | ".join(brief.tags),
        "description": brief.description,
        "image_prompt": brief.image_prompt,
    }


@dataclass(frozen=True)
class ModerationVerdict:
    flagged: bool
    categories: dict[str, float] = field(default_factory=dict)


# Sends the texts to a moderation endpoint; returns its verdict.
Moderator = Callable[[list[str]], Awaitable[ModerationVerdict]]


@dataclass(frozen=True)
class Verdict:
    """Why a text may or may not be made into an image; `details` goes into the error."""

    blocked: dict[str, list[str]]  # word → fields it was found in
    trademarks: dict[str, list[str]]  # protected name → fields
    moderation: ModerationVerdict | None
    checked_terms: int
    # The protected names' lists: "platform" or "tenant", and their category.
    name_sources: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        flagged = self.moderation is not None and self.moderation.flagged
        return not (self.blocked or self.trademarks or flagged)

    @property
    def details(self) -> dict[str, Any]:
        categories = self.moderation.categories if self.moderation else {}
        details: dict[str, Any] = {
            # Every reason in one list: "blocklist", "trademark", moderation categories.
            "categories": sorted(
                (["blocklist"] if self.blocked else [])
                + (["trademark"] if self.trademarks else [])
                + list(categories)
            ),
            "matches": {**self.blocked, **self.trademarks},
            "moderation": {"flagged": bool(categories), "scores": categories}
            if self.moderation is not None
            else None,
        }
        if self.name_sources:
            details["protected_names"] = self.name_sources
        return details

    def summary(self) -> str:
        reasons = [f"blocked terms {sorted(self.blocked)}"] if self.blocked else []
        if self.trademarks:
            reasons.append(f"protected names {sorted(self.trademarks)}")
        if self.moderation is not None and self.moderation.flagged:
            reasons.append(f"moderation categories {sorted(self.moderation.categories)}")
        return "; ".join(reasons)


class ContentScreen:
    """The local lists, then (if configured) the moderation endpoint, on the same text."""

    def __init__(
        self,
        profanity: ProfanityScreen,
        names: IpMatcher,
        moderator: Moderator | None = None,
    ) -> None:
        self._profanity = profanity
        self._names = names
        self._moderator = moderator

    def with_moderator(self, moderator: Moderator) -> ContentScreen:
        """The same lists, then `moderator` on what they let through."""
        return ContentScreen(self._profanity, self._names, moderator)

    @property
    def moderated(self) -> bool:
        return self._moderator is not None

    async def check(
        self,
        fields: dict[str, str],
        own_names: IpMatcher | None = None,
        *,
        moderate: bool = True,
    ) -> Verdict:
        """`fields` screened; `own_names` are the tenant's protected names, if any.
        `moderate=False` keeps to the local lists (a keyword before a model sees it)."""
        blocked: dict[str, list[str]] = {}
        trademarks: dict[str, list[str]] = {}
        sources: dict[str, dict[str, str]] = {}
        for name, value in fields.items():
            for word in self._profanity.find(value):
                blocked.setdefault(word.lower(), []).append(name)
            prose = name in PROSE_FIELDS
            for source, matcher in (("platform", self._names), ("tenant", own_names)):
                for found in matcher.find(value, prose=prose) if matcher is not None else ():
                    trademarks.setdefault(found.name, [])
                    if name not in trademarks[found.name]:
                        trademarks[found.name].append(name)
                    sources.setdefault(found.name, {"list": source, "category": found.category})
        moderation = None
        # A locally refused text is not sent out: the answer would not change anything.
        if moderate and not blocked and not trademarks and self._moderator is not None:
            texts = [value for value in fields.values() if value.strip()]
            moderation = await self._moderator(["\n".join(texts)])
        return Verdict(
            blocked=blocked,
            trademarks=trademarks,
            moderation=moderation,
            checked_terms=self._profanity.size
            + len(self._names)
            + (len(own_names) if own_names else 0),
            name_sources=sources,
        )
