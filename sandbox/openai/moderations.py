"""Moderations: the `word:category` entries of `EmulatorConfig.openai_flagged_words` flag
a text that contains the word (whole word, any case); scores follow from a hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any, Literal

from pydantic import BaseModel, Field

from sandbox.openai.base import ModelRequest, NonEmptyText

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

FlagPatterns = list[tuple[re.Pattern[str], str]]


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImageUrlPart(BaseModel):
    type: Literal["image_url"]
    image_url: dict[str, Any]


class ModerationRequest(ModelRequest):
    model: NonEmptyText = "omni-moderation-latest"
    input: str | list[str] | list[TextPart | ImageUrlPart] = Field(min_length=1)


def flag_patterns(entries: tuple[str, ...]) -> FlagPatterns:
    """`word:category` entries as whole-word, case-insensitive patterns."""
    patterns = []
    for entry in entries:
        word, _, category = entry.partition(":")
        if not word or category not in MODERATION_CATEGORIES:
            raise ValueError(f"openai_flagged_words: {entry!r} is not `word:<category>`")
        patterns.append((re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE), category))
    return patterns


def moderation(request: ModerationRequest, flagged: FlagPatterns) -> dict[str, Any]:
    """The moderation answer: one result per text input, or one for a multi-modal input."""
    if isinstance(request.input, str):
        texts = [request.input]
    elif all(isinstance(item, str) for item in request.input):
        texts = [str(item) for item in request.input]
    else:  # the parts of one multi-modal input make one result
        texts = [" ".join(p.text for p in request.input if isinstance(p, TextPart))]
    return {
        "id": f"modr-{secrets.token_hex(12)}",
        "model": request.model,
        "results": [_moderation_result(text, flagged) for text in texts],
    }


def _score(text: str, category: str, low: float, spread: float) -> float:
    digest = hashlib.sha256(f"{category}\0{text}".encode()).digest()
    return round(low + spread * digest[0] / 255, 6)


def _moderation_result(text: str, flagged: FlagPatterns) -> dict[str, Any]:
    hits = {category for pattern, category in flagged if pattern.search(text)}
    return {
        "flagged": bool(hits),
        "categories": {category: category in hits for category in MODERATION_CATEGORIES},
        "category_scores": {
            category: _score(text, category, 0.9, 0.09)
            if category in hits
            else _score(text, category, 0.00001, 0.01)
            for category in MODERATION_CATEGORIES
        },
        "category_applied_input_types": {key: ["text"] for key in MODERATION_CATEGORIES},
    }
