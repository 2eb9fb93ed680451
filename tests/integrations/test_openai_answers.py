"""The OpenAI provider's pure parts: how an SDK error maps to a VendorError, how a
Retry-After is read, and what a model's brief answer must fix before it is used."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

from integrations.openai_provider import _brief_from, _retry_after, vendor_error

GOOD: dict[str, Any] = {
    "concept": "A retro badge for kayak anglers",
    "slogan": "Reel Calm",
    "style": "vintage badge",
    "palette": ["#1F3A5F", "#F2C14E"],
    "audience": "dads who fish from kayaks",
    "image_prompt": "a vintage badge with a kayak and a fishing rod",
    "title": "Kayak Fishing Dad Shirt, Retro Angler Tee",
    "tags": ["kayak fishing", "fishing dad", "angler gift", "retro fishing", "kayak"],
    "description": "A retro tee for kayak anglers.",
    "ip_risk": "low",
    "ip_risk_reason": "no brand, character or team is named",
}


def test_a_lost_connection_is_retryable_and_an_odd_answer_is_not() -> None:
    # The SDK speaks httpx2 (its own fork of httpx): its errors carry its requests.
    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    lost = vendor_error(openai.APIConnectionError(request=request), "brief")
    assert lost.retryable and "APIConnectionError" in lost.message
    odd = vendor_error(openai.OpenAIError("no choices"), "brief")
    assert (odd.retryable, odd.code) == (False, "OPENAI_INVALID_ANSWER")
    assert "no choices" in odd.message


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),  # the finer one wins
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),  # a date: not ours to guess
        ({}, None),
    ],
)
def test_retry_after_in_milliseconds_or_seconds(headers: dict[str, str], seconds: float) -> None:
    assert _retry_after(headers) == seconds


def test_a_good_answer_is_cleaned_into_a_brief() -> None:
    brief, problems = _brief_from("kayak fishing dad", json.dumps(GOOD))
    assert problems == [] and brief is not None
    assert brief.palette == ["#1F3A5F", "#F2C14E"]
    assert (brief.ip_risk, brief.ip_risk_reason) == ("low", GOOD["ip_risk_reason"])


def test_markup_and_invisible_characters_are_taken_out_of_every_field() -> None:
    marked = {
        **GOOD,
        "slogan": "<b>Reel</b> Calm\u200b",
        "title": "<i>Kayak</i> Fishing Dad Shirt &amp; Tee",
        "description": "<p>A retro tee.</p>\n\n<p>For <script>x</script> anglers.</p>",
        "tags": ["<b>kayak</b> fishing", "fishing dad", "angler gift", "retro fishing", "kayak"],
    }
    brief, problems = _brief_from("kayak fishing dad", json.dumps(marked))
    assert problems == [] and brief is not None
    assert (brief.slogan, brief.title) == ("Reel Calm", "Kayak Fishing Dad Shirt & Tee")
    assert brief.description == "A retro tee.\n\nFor x anglers."
    assert brief.tags[0] == "kayak fishing"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"tags": ["kayak"]}, "usable tags"),
        ({"palette": ["navy", "#F2C14E"]}, "palette entries must be #RRGGBB"),
        ({"slogan": ""}, "slogan"),
        ({"surprise": "field"}, "surprise"),
        ({"ip_risk": "unknown"}, "ip_risk"),
    ],
)
def test_an_answer_that_cleaning_cannot_fix_names_its_problems(
    change: dict[str, Any], problem: str
) -> None:
    brief, problems = _brief_from("kayak fishing dad", json.dumps({**GOOD, **change}))
    assert brief is None
    assert any(problem in text for text in problems), problems


def test_an_answer_that_is_not_json_is_a_problem_not_a_crash() -> None:
    brief, problems = _brief_from("kayak fishing dad", "{not json")
    assert brief is None and problems
