"""The one place errors become Temporal failures.

Activities (and the services and clients they call) raise `DomainError`s from the
catalogue (`domain.errors`); the worker's interceptor turns each into an
`ApplicationError` whose type is the error's code: non-retryable when no retry can fix it,
retried no sooner than a vendor's `Retry-After` when it can. A database that cannot be
reached is `DATABASE_UNAVAILABLE`, retryable.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from core.db import DATABASE_DOWN
from domain.errors import DATABASE_UNAVAILABLE, DomainError
from integrations.errors import VendorError


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
    )


class DomainErrorInterceptor(Interceptor):
    """Installed on every activity worker (`workers.runner.build_worker`)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _DomainErrors(next)


class _DomainErrors(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except DomainError as exc:
            raise activity_failure(exc) from exc
        except DATABASE_DOWN as exc:
            # Retried like any outage; when the retries give up, the run's error says
            # DATABASE_UNAVAILABLE rather than an untyped OperationalError.
            raise activity_failure(
                DomainError(
                    DATABASE_UNAVAILABLE, f"the database cannot be reached: {type(exc).__name__}"
                )
            ) from exc
