"""The one place errors become Temporal failures.

Activities (and the services and clients they call) raise `DomainError`s from the
catalogue (`domain.errors`); the worker's interceptor turns each into an
`ApplicationError` whose type is the error's code: non-retryable when no retry can fix it,
retried no sooner than a vendor's `Retry-After` when it can. A database that cannot be
reached is waited for within the attempt, then `DATABASE_UNAVAILABLE`, retryable; data
the database refuses (`DATABASE_REFUSED`) fails at once, as no retry can store it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.heartbeat import heartbeating
from core.db import DATA_REFUSED, DATABASE_DOWN
from domain.errors import DATABASE_REFUSED, DATABASE_UNAVAILABLE, DomainError
from integrations.errors import VendorError

logger = logging.getLogger(__name__)
# Waits (seconds) between runs of an activity while the database cannot be reached,
# doubling to the maximum; an attempt gives up this long before its timeout.
DATABASE_FIRST_WAIT = 0.5
DATABASE_MAX_WAIT = 15.0
DATABASE_WAIT_MARGIN = 2.0


def activity_failure(exc: DomainError) -> ApplicationError:
    """The Temporal failure of a domain error: its code, message and details."""
    details = exc.vendor_details if isinstance(exc, VendorError) else exc.details
    delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
    return ApplicationError(
        exc.message,
        *([details] if details is not None else []),
        type=exc.code,
        non_retryable=not exc.retryable,
        next_retry_delay=delay,
        # An error of the catalogue is expected: the SDK logs it at DEBUG, without its
        # traceback, and `_DomainErrors` writes one line for it.
        category=ApplicationErrorCategory.BENIGN,
    )


class DomainErrorInterceptor(Interceptor):
    """Installed on every activity worker (`workers.runner.build_worker`)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DomainErrors(next)


class _DomainErrors(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        delay = DATABASE_FIRST_WAIT
        while True:
            try:
                return await super().execute_activity(input)
            except DomainError as exc:
                _log_refusal(exc)
                raise activity_failure(exc) from exc
            except DATA_REFUSED as exc:
                # A NUL in a reason kept `records.update_run` retrying for its whole 30
                # minutes, then failing untyped (issue 14): no retry stores it.
                cause = getattr(exc, "orig", None) or exc
                raise activity_failure(
                    DomainError(
                        DATABASE_REFUSED,
                        f"the database refused the data: {str(cause).splitlines()[0][:200]}",
                    )
                ) from exc
            except DATABASE_DOWN as exc:
                # An outage, not a bug: the attempt waits for the database (heartbeating)
                # and runs the activity again, as long as its time allows; activities are
                # idempotent, so a second run of the body is what a retry would do. Image
                # and ideation steps allow few attempts, and a one-minute outage used to
                # use them all up. When time runs out, a retryable DATABASE_UNAVAILABLE.
                if _seconds_left() < delay + DATABASE_WAIT_MARGIN:
                    raise activity_failure(
                        DomainError(
                            DATABASE_UNAVAILABLE,
                            f"the database cannot be reached: {type(exc).__name__}",
                        )
                    ) from exc
                logger.warning(
                    "database unreachable in %s; trying again", activity.info().activity_type
                )
                await heartbeating(asyncio.sleep(delay), "waiting for the database")
                delay = min(delay * 2, DATABASE_MAX_WAIT)


def _log_refusal(exc: DomainError) -> None:
    """One line, no traceback: WARNING when a retry follows, INFO when the refusal is final
    (the run's failure says the rest)."""
    info = activity.info()
    logger.log(
        logging.WARNING if exc.retryable else logging.INFO,
        "%s attempt %d: %s %s%s",
        info.activity_type,
        info.attempt,
        exc.code,
        exc.message,
        "" if exc.retryable else " (not retried)",
        extra={"error_code": exc.code},
    )


def _seconds_left() -> float:
    """Seconds until this attempt's start-to-close timeout (or the schedule-to-close one)."""
    info = activity.info()
    now = datetime.now(UTC)
    ends = []
    if info.start_to_close_timeout:
        ends.append(info.started_time + info.start_to_close_timeout)
    if info.schedule_to_close_timeout:
        ends.append(info.scheduled_time + info.schedule_to_close_timeout)
    return min((end - now).total_seconds() for end in ends) if ends else DATABASE_MAX_WAIT
