"""Log lines: credentials masked wherever a line carries them; one JSON object a line with
the request and trace it belongs to; readable text on a terminal."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from core.apikeys import generate_key
from core.logging import (
    RedactSecrets,
    access_line,
    bind_request,
    configure_logging,
    redact_text,
)
from core.settings import Settings

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


def _json_lines(emit: Callable[[logging.Logger], None], log_format: str = "json") -> list[str]:
    """What `configure_logging` writes for the lines `emit` logs (the root logger is put
    back afterwards)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        configure_logging("DEBUG", log_format, stream=stream)
        emit(logging.getLogger("tests.lines"))
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    return stream.getvalue().splitlines()


def test_lines_are_json_with_the_request_and_trace_they_belong_to() -> None:
    tracer = TracerProvider().get_tracer("tests")

    def emit(logger: logging.Logger) -> None:
        with bind_request("req-1") as request, tracer.start_as_current_span("work") as span:
            request.tenant_id = "acme"
            request.key_id = "key-1"
            logger.info("sent %s", {"Authorization": f"Bearer {KEY}"}, extra={"stage": "x"})
            emit.trace_id = format(span.get_span_context().trace_id, "032x")  # type: ignore[attr-defined]
        logger.warning("outside")

    (inside, outside) = [json.loads(line) for line in _json_lines(emit)]
    assert inside["level"] == "INFO" and inside["logger"] == "tests.lines"
    assert inside["request_id"] == "req-1" and inside["tenant_id"] == "acme"
    assert inside["key_id"] == "key-1" and inside["stage"] == "x"
    assert inside["trace_id"] == emit.trace_id  # type: ignore[attr-defined]
    assert datetime.fromisoformat(inside["timestamp"]).tzinfo is not None
    assert KEY not in inside["message"] and "***" in inside["message"]
    assert "request_id" not in outside and "trace_id" not in outside


def test_an_exception_in_a_json_line_is_redacted() -> None:
    def emit(logger: logging.Logger) -> None:
        try:
            raise RuntimeError(f"vendor echoed token={KEY}")
        except RuntimeError:
            logger.exception("failed")

    (line,) = [json.loads(text) for text in _json_lines(emit)]
    assert "RuntimeError" in line["exc_info"] and KEY not in json.dumps(line)


def test_a_terminal_gets_readable_text_with_the_context() -> None:
    def emit(logger: logging.Logger) -> None:
        with bind_request("req-2"):
            logger.info("hello")

    (line,) = _json_lines(emit, "text")
    assert line.endswith("INFO tests.lines: hello [request_id=req-2]")


def test_the_level_follows_the_environment_unless_set() -> None:
    development = Settings(environment="development")
    staging = development.model_copy(update={"environment": "staging"})
    assert staging.effective_log_level == "DEBUG"
    assert development.effective_log_level == "INFO"
    assert staging.model_copy(update={"log_level": "warning"}).effective_log_level == "WARNING"


def test_the_access_line_written_directly_is_the_one_the_logger_would_write() -> None:
    """`access_line` skips the logging machinery when it can; its line has the same keys,
    in the same order, with the same values as `api.access` through the JSON formatter."""
    tracer = TracerProvider().get_tracer("tests")

    def emit(_: logging.Logger) -> None:
        with bind_request("req-7") as request, tracer.start_as_current_span("GET"):
            request.tenant_id, request.member_id, request.key_id = "acme", "m-1", "k-1"
            access_line("GET", "/v1/listings", "/v1/listings", 200, 1.5)  # direct
            logging.getLogger("api.access").addFilter(lambda record: True)
            try:
                access_line("GET", "/v1/listings", "/v1/listings", 200, 1.5)  # the logger
            finally:
                logging.getLogger("api.access").filters.clear()
            access_line("GET", None, f"/nowhere/token={KEY}", 404, 0.2)

    direct, logged, unmatched = [json.loads(line) for line in _json_lines(emit)]
    assert datetime.fromisoformat(direct.pop("timestamp")).tzinfo is not None
    logged.pop("timestamp")
    assert list(direct.items()) == list(logged.items())
    assert direct["message"] == "GET /v1/listings 200" and direct["tenant_id"] == "acme"
    assert len(direct["trace_id"]) == 32 and direct["duration_ms"] == 1.5
    # A path the caller chose is redacted like any other line.
    assert unmatched["http_route"] is None and KEY not in json.dumps(unmatched)


def test_info_lines_reach_a_file_without_a_flush_each(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    path = tmp_path / "api.log"
    with path.open("w") as stream:
        try:
            configure_logging("INFO", "json", stream=stream)
            logging.getLogger("tests.lines").info("first")
            logging.getLogger("tests.lines").warning("second")  # flushed at once
            assert [json.loads(line)["message"] for line in path.read_text().splitlines()] == [
                "first",
                "second",
            ]
            logging.getLogger("tests.lines").info("third")  # by the timer
            deadline = time.monotonic() + 5
            while "third" not in path.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "third" in path.read_text()
        finally:
            root.handlers[:], level = saved
            root.setLevel(level)
