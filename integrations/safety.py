"""Content safety: a blocklist of unsafe words, a trademark list, and optional moderation.

Terms are matched as whole words, case-insensitively, on the brief's keyword, slogan,
title, tags, description and image prompt. Both lists ship with the package
(`integrations/local/blocklist.txt`, `trademarks.txt`); `POD_BLOCKLIST_FILE` and
`POD_TRADEMARK_FILE` add a seller's own (one term a line, `#` comments).

`ContentScreen` is what runs before every image call: the two local lists first (free,
and a trademark is never sent anywhere), then, when a model vendor is in use, its
moderation endpoint on the same text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from models.payloads import DesignBrief


@dataclass(frozen=True)
class ScreeningResult:
    safe: bool
    matches: dict[str, list[str]]  # term → fields it was found in
    checked_terms: int


def _read_terms(bundled: str, extra_file: Path | None) -> list[str]:
    text = resources.files("integrations.local").joinpath(bundled).read_text("utf-8")
    if extra_file is not None:
        text += "\n" + extra_file.read_text("utf-8")
    terms = {line.split("#", 1)[0].strip().lower() for line in text.splitlines()}
    return sorted(term for term in terms if term)


def load_terms(extra_file: Path | None = None) -> list[str]:
    """The bundled blocklist plus the optional extra file, lower-cased and de-duplicated."""
    return _read_terms("blocklist.txt", extra_file)


def load_trademarks(extra_file: Path | None = None) -> list[str]:
    """The bundled trademark list plus the optional extra file."""
    return _read_terms("trademarks.txt", extra_file)


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


def screen_text(fields: dict[str, str], terms: Iterable[str]) -> ScreeningResult:
    """Find every term in the named texts."""
    term_list = list(terms)
    matches: dict[str, list[str]] = {}
    lowered = {name: value.lower() for name, value in fields.items()}
    for term in term_list:
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)")
        found = [name for name, value in lowered.items() if pattern.search(value)]
        if found:
            matches[term] = found
    return ScreeningResult(safe=not matches, matches=matches, checked_terms=len(term_list))


def screen_brief(brief: DesignBrief, terms: Iterable[str]) -> ScreeningResult:
    """Find every blocked term in the brief's text fields."""
    return screen_text(brief_fields(brief), terms)


@dataclass(frozen=True)
class ModerationVerdict:
    flagged: bool
    categories: dict[str, float] = field(default_factory=dict)


# Sends the texts to a moderation endpoint; returns its verdict.
Moderator = Callable[[list[str]], Awaitable[ModerationVerdict]]


@dataclass(frozen=True)
class Verdict:
    """Why a text may or may not be made into an image; `details` goes into the error."""

    blocked: dict[str, list[str]]
    trademarks: dict[str, list[str]]
    moderation: ModerationVerdict | None
    checked_terms: int

    @property
    def safe(self) -> bool:
        flagged = self.moderation is not None and self.moderation.flagged
        return not (self.blocked or self.trademarks or flagged)

    @property
    def details(self) -> dict[str, Any]:
        categories = self.moderation.categories if self.moderation else {}
        return {
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

    def summary(self) -> str:
        reasons = [f"blocked terms {sorted(self.blocked)}"] if self.blocked else []
        if self.trademarks:
            reasons.append(f"trademarks {sorted(self.trademarks)}")
        if self.moderation is not None and self.moderation.flagged:
            reasons.append(f"moderation categories {sorted(self.moderation.categories)}")
        return "; ".join(reasons)


class ContentScreen:
    """The local lists, then (if configured) the moderation endpoint, on the same text."""

    def __init__(
        self, blocked: list[str], trademarks: list[str], moderator: Moderator | None = None
    ) -> None:
        self._blocked = blocked
        self._trademarks = trademarks
        self._moderator = moderator

    @property
    def moderated(self) -> bool:
        return self._moderator is not None

    async def check(self, fields: dict[str, str]) -> Verdict:
        blocked = screen_text(fields, self._blocked)
        trademarks = screen_text(fields, self._trademarks)
        moderation = None
        # A locally refused text is not sent out: the answer would not change anything.
        if blocked.safe and trademarks.safe and self._moderator is not None:
            texts = [value for value in fields.values() if value.strip()]
            moderation = await self._moderator(["\n".join(texts)])
        return Verdict(
            blocked=blocked.matches,
            trademarks=trademarks.matches,
            moderation=moderation,
            checked_terms=blocked.checked_terms + trademarks.checked_terms,
        )
