"""The value bounds every trend parser relies on."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from integrations.trends.feed import (
    clean_keyword,
    http_url,
    iso_from_epoch,
    iso_utc,
    number,
    skip,
)
from models.trends import SourceBatch


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Funny  Cat\tMom ", "funny cat mom"),
        ("\uff43\uff41\uff54 \uff4d\uff4f\uff4d", "cat mom"),  # full-width letters, NFKC
        ("cat\u200dmom", "catmom"),  # a zero-width joiner joins, it does not split
        ("cat\x00mom\x1fdad", "cat mom dad"),
        ("\x00\t\u200b ", None),
        ("", None),
        (None, None),
        (12, None),
        (["cat"], None),
    ],
)
def test_clean_keyword(raw: object, expected: str | None) -> None:
    assert clean_keyword(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (5, 5.0),
        (2.5, 2.5),
        (0, 0.0),
        (-1, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**400, None),
        (1e13, None),
        (True, None),
        ("5", None),
        (None, None),
    ],
)
def test_number_is_finite_and_in_range(raw: object, expected: float | None) -> None:
    assert number(raw) == expected


def test_number_with_its_own_range() -> None:
    assert number(-50, -100, 100) == -50
    assert number(101, -100, 100) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://news.example.com/a?b=c", "https://news.example.com/a?b=c"),
        ("http://example.com", "http://example.com"),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("//example.com/a", None),
        ("https://example.com/a b", None),
        ("https://example.com/\u202e", None),
        ("https://example.com/" + "a" * 3000, None),
        ("http://[::1", None),
        (None, None),
    ],
)
def test_http_url(raw: object, expected: str | None) -> None:
    assert http_url(raw) == expected


def test_dates() -> None:
    assert iso_from_epoch(1741600800) == "2025-03-10T10:00:00+00:00"
    assert iso_from_epoch(0) is None  # before any source existed
    assert iso_from_epoch(99999999999) is None
    assert iso_utc(datetime(2025, 3, 10, 10)) == "2025-03-10T10:00:00+00:00"


def test_skip_records_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    batch = SourceBatch(source="reddit")
    with caplog.at_level(logging.WARNING, logger="integrations.trends.feed"):
        skip(batch, "t3_a: marked over 18")
    assert batch.skipped == ["t3_a: marked over 18"]
    assert caplog.messages == ["reddit: t3_a: marked over 18"]
