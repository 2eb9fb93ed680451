"""Local content screening: a blocklist of unsafe words and trademark terms.

Terms are matched as whole words, case-insensitively, on the brief's keyword,
slogan, title, tags, description and image prompt. The default lists ship with the
package; `POD_BLOCKLIST_FILE` adds a seller's own file (one term a line, `#` comments).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from models.payloads import DesignBrief


@dataclass(frozen=True)
class ScreeningResult:
    safe: bool
    matches: dict[str, list[str]]  # term → fields it was found in
    checked_terms: int


def load_terms(extra_file: Path | None = None) -> list[str]:
    """The bundled blocklist plus the optional extra file, lower-cased and de-duplicated."""
    text = resources.files("integrations.local").joinpath("blocklist.txt").read_text("utf-8")
    if extra_file is not None:
        text += "\n" + extra_file.read_text("utf-8")
    terms = {line.split("#", 1)[0].strip().lower() for line in text.splitlines()}
    return sorted(term for term in terms if term)


def _fields(brief: DesignBrief) -> dict[str, str]:
    return {
        "keyword": brief.keyword,
        "slogan": brief.slogan,
        "title": brief.title,
        "tags": " | ".join(brief.tags),
        "description": brief.description,
        "image_prompt": brief.image_prompt,
    }


def screen_brief(brief: DesignBrief, terms: Iterable[str]) -> ScreeningResult:
    """Find every blocked term in the brief's text fields."""
    term_list = list(terms)
    matches: dict[str, list[str]] = {}
    fields = {name: value.lower() for name, value in _fields(brief).items()}
    for term in term_list:
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)")
        found = [name for name, value in fields.items() if pattern.search(value)]
        if found:
            matches[term] = found
    return ScreeningResult(safe=not matches, matches=matches, checked_terms=len(term_list))
