"""Logging set-up for every `pod` process: one line per record, secrets redacted."""

from __future__ import annotations

import logging
import re

# A credential after its label: `Authorization: Bearer x`, `x-api-key=x`, `token: x`, …
_LABELLED = re.compile(
    r"(?i)((?:authorization|x-api-key|api[_-]?key|access[_-]?token|refresh[_-]?token|token"
    r"|secret|password)[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic)\s+)?|bearer\s+)"
    r"([^\s\"',;}]+)"
)
# Our own API keys and Fernet ciphertexts, wherever they appear.
_BARE = re.compile(r"pod_[0-9a-f]{12}_[A-Za-z0-9_-]{43}|gAAAAA[A-Za-z0-9_=-]{20,}")


def redact_text(text: str) -> str:
    """`text` with credentials replaced by `***` (the label before them is kept)."""
    text = _LABELLED.sub(lambda m: m.group(1) + "***", text)
    return _BARE.sub("***", text)


class RedactSecrets(logging.Filter):
    """Masks bearer tokens, API keys, tokens and `Authorization` headers in log lines,
    including the text of a logged exception."""

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


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s")
    )
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
