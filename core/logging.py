"""Logging for every `pod` process: one JSON object a line (readable text on a terminal),
each line naming the request, tenant, workflow, activity and trace it belongs to, with
secrets redacted.

Context comes from three places, read when a line is written (`ContextFields`):
- the API request (`bind_request`, set by `api.middleware.RequestContextMiddleware`, and
  filled in with the tenant and caller once the key is known);
- the Temporal activity or workflow the line is written in;
- the OpenTelemetry span current at the time (`trace_id`, `span_id`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from temporalio import activity, workflow

# A credential after its label: `Authorization: Bearer x`, `x-api-key=x`, `token: x`, …
_LABELLED = re.compile(
    r"(?i)((?:authorization|x-api-key|api[_-]?key|access[_-]?token|refresh[_-]?token|token"
    r"|secret|password)[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic)\s+)?|bearer\s+)"
    r"([^\s\"',;}]+)"
)
# Our own API keys and Fernet ciphertexts, wherever they appear.
_BARE = re.compile(r"pod_[0-9a-f]{12}_[A-Za-z0-9_-]{43}|gAAAAA[A-Za-z0-9_=-]{20,}")


# What every credential the patterns find contains: a line with none of them is left as
# it is without running the patterns (most lines; an access line's regex passes were a
# tenth of a read's logging cost).
_LABEL_MARKS = (
    "authorization",
    "api-key",
    "api_key",
    "apikey",
    "token",
    "secret",
    "password",
    "bearer",
)
_BARE_MARKS = ("pod_", "gAAAAA")


def redact_text(text: str) -> str:
    """`text` with credentials replaced by `***` (the label before them is kept)."""
    lowered = text.lower()
    if not any(mark in lowered for mark in _LABEL_MARKS) and not any(
        mark in text for mark in _BARE_MARKS
    ):
        return text
    text = _LABELLED.sub(lambda m: m.group(1) + "***", text)
    return _BARE.sub("***", text)


@dataclass
class RequestContext:
    """The API request a line is written for; the tenant and caller are filled in once
    the credentials are checked (`api.auth`)."""

    request_id: str
    tenant_id: str | None = None
    member_id: str | None = None
    key_id: str | None = None


_REQUEST: ContextVar[RequestContext | None] = ContextVar("pod_request", default=None)


@contextmanager
def bind_request(request_id: str) -> Iterator[RequestContext]:
    """Lines written inside carry `request_id` (and the tenant, once known).

    The context is one mutable object: a dependency run in a worker thread (which sees a
    copy of the context variables) still fills in the request's own."""
    context = RequestContext(request_id)
    token = _REQUEST.set(context)
    try:
        yield context
    finally:
        _REQUEST.reset(token)


def current_request() -> RequestContext | None:
    return _REQUEST.get()


def request_fields() -> dict[str, str]:
    """The fields of the API request a line is written for: its id, and the tenant,
    member and key once `api.auth` knows them."""
    request = _REQUEST.get()
    if request is None:
        return {}
    fields = {"request_id": request.request_id}
    if request.tenant_id is not None:
        fields["tenant_id"] = request.tenant_id
    if request.member_id is not None:
        fields["member_id"] = request.member_id
    if request.key_id is not None:
        fields["key_id"] = request.key_id
    return fields


def trace_fields() -> dict[str, str]:
    """The trace and span ids of the OpenTelemetry span current now, if any."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return {}
    return {"trace_id": format(span.trace_id, "032x"), "span_id": format(span.span_id, "016x")}


class ContextFields(logging.Filter):
    """Adds the request, Temporal and trace fields a line belongs to as record attributes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.update(request_fields())
        run = getattr(record, "temporal_workflow", None)  # `workflow.logger`'s extra
        if isinstance(run, dict):
            record.workflow_id = run.get("workflow_id")
            record.workflow_type = run.get("workflow_type")
        elif activity.in_activity():
            info = activity.info()
            record.workflow_id = info.workflow_id
            record.activity_type = info.activity_type
            record.attempt = info.attempt
        record.__dict__.update(trace_fields())
        return True


class RedactSecrets(logging.Filter):
    """Masks bearer tokens, API keys, tokens and `Authorization` headers in a line's
    message and in the text of a logged exception (for the text format; the JSON format
    redacts its whole line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


# Context fields in the order the text format shows them.
CONTEXT_FIELDS = (
    "request_id",
    "tenant_id",
    "member_id",
    "key_id",
    "workflow_id",
    "workflow_type",
    "activity_type",
    "attempt",
    "trace_id",
)
# Record attributes never written: the standard ones besides the few we name, and the
# Temporal SDK's extras whose fields `ContextFields` already took.
_NOT_WRITTEN = (
    *RESERVED_ATTRS,
    "temporal_workflow",
    "temporal_activity",
    "color_message",  # uvicorn's coloured copy of the message
)


class JsonLines(JsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, the context fields and
    any `extra`; the whole line passes through `redact_text`."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{process}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
            reserved_attrs=_NOT_WRITTEN,
            timestamp=True,
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class ReadableText(logging.Formatter):
    """For a terminal: the usual line, then the context fields it has."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        )
        return f"{line} [{context}]" if context else line


class LinesHandler(logging.StreamHandler):
    """A stream handler that does not flush after every line: a line at WARNING or above
    is flushed at once, others within `FLUSH_SECONDS` by a timer thread (and at exit,
    by `logging.shutdown`). A flush is a write system call: after each access line it
    was a third of the line's cost (cProfile, 9 of 26 µs)."""

    FLUSH_SECONDS = 0.25

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._pending = threading.Event()
        self._flusher = threading.Thread(target=self._flush_pending, daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(line + self.terminator)
                if record.levelno >= logging.WARNING:
                    self.stream.flush()
                else:
                    self._pending.set()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def write_line(self, line: str) -> None:
        """A line formatted already (`access_line`), flushed with the others."""
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + self.terminator)
        self._pending.set()

    def _flush_pending(self) -> None:
        while True:
            self._pending.wait()
            time.sleep(self.FLUSH_SECONDS)
            self._pending.clear()
            with contextlib.suppress(Exception):  # a closed stream at exit
                self.flush()


_access = logging.getLogger("api.access")
# The handler `access_line` may write to directly: `configure_logging`'s, in JSON.
_fast_lines: LinesHandler | None = None


def access_line(method: str, route: str | None, path: str, status: int, duration_ms: float) -> None:
    """The API's access line for a request: what `api.access` would write, built here
    without a `LogRecord`, its filters and the generic formatter when logging is as
    `configure_logging` set it up in JSON (the same keys in the same order, redacted
    the same way). Otherwise (a terminal, a test's handlers), through `api.access`.

    On `make bench-api` the access line was a quarter of a read's cost; written here it
    takes about a fifth of the time (docs/performance.md)."""
    if not _access.isEnabledFor(logging.INFO):
        return
    handler = _fast_lines
    root = logging.getLogger()
    if (
        handler is None
        or root.handlers != [handler]
        or _access.handlers
        or _access.filters
        or not _access.propagate
    ):
        _access.info(
            "%s %s %s",
            method,
            route or path,
            status,
            extra={
                "http_method": method,
                "http_route": route,
                "http_status": status,
                "duration_ms": duration_ms,
            },
        )
        return
    now = time.time()
    line: dict[str, Any] = {
        "level": "INFO",
        "logger": "api.access",
        "pid": _PID.value,
        "message": f"{method} {route or path} {status}",
        "http_method": method,
        "http_route": route,
        "http_status": status,
        "duration_ms": duration_ms,
    }
    line.update(request_fields())
    line.update(trace_fields())
    line["timestamp"] = datetime.fromtimestamp(now, tz=UTC).isoformat()
    handler.write_line(redact_text(json.dumps(line, default=str)))


class _Pid:
    """This process's id, read again after a fork."""

    def __init__(self) -> None:
        self.value = os.getpid()
        os.register_at_fork(after_in_child=self._refresh)

    def _refresh(self) -> None:
        self.value = os.getpid()


_PID = _Pid()


def configure_logging(
    level: str = "INFO", log_format: str = "auto", stream: Any = None
) -> logging.Handler:
    """Route every logger through one handler on `stream` (stderr): JSON lines, or text
    when `log_format` is `text`, or `auto` and the stream is a terminal."""
    global _fast_lines
    stream = stream if stream is not None else sys.stderr
    handler = LinesHandler(stream)
    as_text = log_format == "text" or (
        log_format == "auto" and hasattr(stream, "isatty") and stream.isatty()
    )
    _fast_lines = None if as_text else handler
    # What no line of ours writes, not looked up for each record: the calling frame,
    # the thread, the process name and the asyncio task (the logging HOWTO's
    # "Optimization"; 2 µs of an access line's 26).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging.logAsyncioTasks = False  # type: ignore[attr-defined]
    handler.setFormatter(ReadableText() if as_text else JsonLines())
    handler.addFilter(ContextFields())
    if as_text:  # a JSON line is redacted whole (`JsonLines`)
        handler.addFilter(RedactSecrets())
    # The run's fields are on the record (`ContextFields`), not appended to the message.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "alembic", "opentelemetry"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
