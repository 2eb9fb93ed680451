"""Timeouts and retry policies of every activity call, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

# Error types that no retry can fix; activities raise them as non-retryable too.
NON_RETRYABLE = [
    "INVALID_INPUT",
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
