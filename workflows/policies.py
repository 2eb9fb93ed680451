"""Timeouts and retry policies of every activity call, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from core.settings import QUEUES

# Error types that no retry can fix; activities raise them as non-retryable too.
NON_RETRYABLE = [
    "INVALID_INPUT",
    "EXTERNAL_REF_TAKEN",
    "UNSAFE_CONTENT",
    "PRINTIFY_VALIDATION",
    "PRINTIFY_AUTH",
    "PRINTIFY_NOT_FOUND",
    "ETSY_VALIDATION",
    "ETSY_AUTH",
    "ETSY_NOT_FOUND",
    "OPENAI_VALIDATION",
    "OPENAI_AUTH",
    "OPENAI_NOT_FOUND",
]


@dataclass(frozen=True)
class CallPolicy:
    """How long one activity attempt may take and how it is retried."""

    start_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta | None = None
    schedule_to_close: timedelta | None = None


def _retry(initial: float, maximum: float, attempts: int) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=maximum),
        maximum_attempts=attempts,
        non_retryable_error_types=NON_RETRYABLE,
    )


# Brief writing and screening: a language model may answer three times (with the SDK's
# own retries) in one attempt, so attempts are long, and heartbeats tell a dead worker
# from a slow model within a minute. Bounded, so a broken provider fails the run.
IDEATION = CallPolicy(timedelta(minutes=15), _retry(1, 30, 5), heartbeat=timedelta(seconds=60))
# Image work is slow and heavy: heartbeats detect a dead worker within seconds.
IMAGE = CallPolicy(timedelta(minutes=10), _retry(2, 60, 5), heartbeat=timedelta(seconds=10))
# Vendor calls: rate limits and outages pass; keep trying for up to an hour.
INTEGRATION = CallPolicy(
    timedelta(minutes=2), _retry(1, 60, 0), schedule_to_close=timedelta(hours=1)
)
# Our own database writes.
RECORDS = CallPolicy(
    timedelta(seconds=30), _retry(0.5, 10, 0), schedule_to_close=timedelta(minutes=30)
)
# Trend sources: slow, flaky and unofficial; a few attempts, then the source is reported
# as failed and the scrape goes on without it.
SCRAPE = CallPolicy(timedelta(minutes=5), _retry(5, 60, 3), heartbeat=timedelta(seconds=60))
# Embedding and storing a scrape's trends (embedding with a local model takes seconds).
TREND_STORE = CallPolicy(
    timedelta(minutes=10), _retry(1, 30, 0), schedule_to_close=timedelta(hours=1)
)


async def call_activity[T](
    method: Callable[[Any, Any], Awaitable[T]], arg: Any, queue: str, policy: CallPolicy
) -> T:
    """Run one activity method on its queue with its policy."""
    return await workflow.execute_activity_method(
        method,
        arg,
        task_queue=QUEUES[queue],
        start_to_close_timeout=policy.start_to_close,
        schedule_to_close_timeout=policy.schedule_to_close,
        heartbeat_timeout=policy.heartbeat,
        retry_policy=policy.retry,
    )


def failure_text(exc: BaseException) -> str:
    """The underlying error's type and message (activity and child errors wrap it)."""
    cause: BaseException = exc
    if isinstance(exc, ActivityError | ChildWorkflowError) and exc.cause is not None:
        cause = exc.cause
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else ""
    message = getattr(cause, "message", None) or str(cause)
    return f"{kind}: {message}" if kind else message
