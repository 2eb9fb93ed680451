"""The log filter masks credentials wherever a log line carries them."""

from __future__ import annotations

import logging

import pytest

from core.apikeys import generate_key
from core.logging import RedactSecrets, redact_text

KEY = generate_key()[0]


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("headers={'authorization': 'Bearer s3cr3t-value'}", "s3cr3t-value"),
        ('{"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),
        ("x-api-key: keystring:sharedsecret", "keystring:sharedsecret"),
        ("refresh_token=rt-9f8e7d", "rt-9f8e7d"),
        ('{"access_token": "1000.tok-abc"}', "1000.tok-abc"),
        ("password=hunter22", "hunter22"),
        pytest.param(f"caller sent {KEY} to the API", KEY, id="our-api-key"),
        ("stored gAAAAABnZ2VzdGV4YW1wbGVjaXBoZXJ0ZXh0", "gAAAAABnZ2VzdGV4YW1wbGVjaXBoZXJ0ZXh0"),
    ],
)
def test_credentials_are_masked(line: str, secret: str) -> None:
    masked = redact_text(line)
    assert secret not in masked
    assert "***" in masked


def test_ordinary_text_is_left_alone() -> None:
    line = "workflow dtl-dev-0123 moved to stage printify_publish (tokens of praise: 3)"
    assert redact_text(line) == line


def test_the_filter_masks_arguments_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactSecrets())
    try:
        with caplog.at_level(logging.INFO, logger="tests.redaction"):
            logger.info("calling with %s", {"Authorization": f"Bearer {KEY}"})
            try:
                raise RuntimeError(f"vendor echoed token={KEY}")
            except RuntimeError:
                logger.exception("vendor call failed")
    finally:
        logger.filters.clear()
    text = caplog.text
    assert KEY not in text
    assert "calling with" in text and "vendor call failed" in text
    assert text.count("***") >= 2
