"""What every trend-source parser shares: bounded values and skipping with a reason.

Trend feeds are unofficial or loosely specified, so nothing in them is trusted: a keyword
is cleaned (control characters out, whitespace collapsed, lower case, at most
`MAX_KEYWORD` characters) or refused when nothing is left; a number must be finite and
inside the range its meaning allows; a date must be a real moment. Whatever is refused
is left out with a reason in `SourceBatch.skipped` (and a warning in the log), so a bad
feed never crashes a scrape and never stores garbage.
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from models.trends import SourceBatch

logger = logging.getLogger(__name__)

MAX_KEYWORD = 200
# Read no further into a text than this: a 10 MB title costs what a long one does.
MAX_SCANNED = 8 * MAX_KEYWORD
# No source counts a trillion of anything: a larger number is a broken feed.
MAX_COUNT = 1e12
MAX_URL = 2048
# Dates before Reddit/Etsy existed or after 2100 are not real observations.
EARLIEST_EPOCH = 1_104_537_600  # 2005-01-01
LATEST_EPOCH = 4_102_444_800  # 2100-01-01


class MalformedFeed(ValueError):
    """A feed or page that cannot be read at all (not JSON/XML, or the wrong shape)."""


def skip(batch: SourceBatch, reason: str) -> None:
    """Record why something was left out of `batch`, and log it."""
    batch.skipped.append(reason)
    logger.warning("%s: %s", batch.source, reason)


def brief(value: object, limit: int = 40) -> str:
    """A short, printable repr of a hostile value for a skip reason."""
    text = repr(value if not isinstance(value, str) else value[: limit * 2])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_text(raw: object, limit: int = MAX_KEYWORD) -> str | None:
    """`raw` with control and format characters removed, whitespace collapsed and cut at
    a word boundary to `limit` characters; None when nothing is left or it is no text."""
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw[:MAX_SCANNED])
    # Tabs and newlines (Cc) separate words; zero-width marks (Cf) join them.
    text = "".join(
        " " if category == "Cc" else "" if category[0] == "C" else char
        for char, category in ((char, unicodedata.category(char)) for char in text)
    )
    text = " ".join(text.split())
    if len(text) > limit:
        cut = text[: limit + 1].rfind(" ")
        text = text[:cut] if cut > 0 else text[:limit]
    return text or None


def clean_keyword(raw: object) -> str | None:
    """A keyword as the trend store keeps it: clean text in lower case (searches ignore case)."""
    text = clean_text(raw)
    return text.lower() if text else None


def number(raw: object, low: float = 0.0, high: float = MAX_COUNT) -> float | None:
    """`raw` as a float when it is a JSON number (not a bool), finite and in `[low, high]`."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        value = float(raw)
    except OverflowError:  # an integer too large for a float
        return None
    if not math.isfinite(value) or not low <= value <= high:
        return None
    return value


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC to the second; a naive moment is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def iso_from_epoch(raw: object) -> str | None:
    """Epoch seconds as ISO 8601 UTC, when they are a plausible observation time."""
    seconds = number(raw, EARLIEST_EPOCH, LATEST_EPOCH)
    return iso_utc(datetime.fromtimestamp(seconds, UTC)) if seconds is not None else None


def http_url(raw: object) -> str | None:
    """`raw` when it is an absolute http(s) URL of sane length without whitespace."""
    if not isinstance(raw, str) or len(raw) > MAX_URL or any(c.isspace() for c in raw):
        return None
    if any(unicodedata.category(char)[0] == "C" for char in raw):
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    return raw if parts.scheme in ("http", "https") and parts.netloc else None


def load_json(body: bytes | str) -> Any:
    """A JSON document, or `MalformedFeed` saying why it is none."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedFeed(f"not JSON ({type(exc).__name__})") from None


def error_text(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The message of an error answer that has no structured shape: its first 200 characters."""
    text = (clean_text(response.text, 200) or "") if response.content else ""
    return (text or response.reason_phrase or "no details"), {}
