"""Turn client-layer failures into Temporal application errors, in one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from integrations.errors import VendorError


def vendor_failure(exc: VendorError) -> ApplicationError:
    """Permanent vendor errors stop the workflow with the vendor's reason in `details`;
    transient ones are retried by Temporal, no sooner than the vendor's `Retry-After`."""
    details = {"vendor": exc.vendor, "status": exc.status, **exc.details}
    delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
    return ApplicationError(
        exc.message,
        details,
        type=exc.code,
        non_retryable=not exc.retryable,
        next_retry_delay=delay,
    )
