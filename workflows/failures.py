"""What a failed activity or child run says, for records and logs (workflow-safe: no I/O)."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
)


def failure_text(exc: BaseException) -> str:
    """The underlying error's type and message (activity and child errors wrap it)."""
    cause: BaseException = exc
    if isinstance(exc, ActivityError | ChildWorkflowError) and exc.cause is not None:
        cause = exc.cause
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else ""
    message = getattr(cause, "message", None) or str(cause)
    return f"{kind}: {message}" if kind else message


def describe_failure(exc: BaseException) -> tuple[str, str, dict[str, Any] | None]:
    """(code, message, details) from an activity or application failure."""
    cause: BaseException | None = exc
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else None
        return cause.type or "ACTIVITY_FAILED", cause.message, details
    if isinstance(cause, CancelledError):
        return "CANCELLED", "the run was cancelled", None
    return "ACTIVITY_FAILED", str(cause or exc), None
