"""One error type for every vendor call, already sorted into retryable and permanent."""

from __future__ import annotations

from typing import Any

from domain.errors import CATALOGUE, DomainError


class VendorError(DomainError):
    """A vendor answered with an error (or not at all).

    `retryable` is decided once, here in the client layer: rate limits, server errors
    and transport failures are retryable; validation, auth and not-found are not. The code
    is one of the catalogue's vendor codes (`domain.errors.VENDORS`).
    """

    def __init__(
        self,
        vendor: str,
        message: str,
        *,
        status: int | None = None,
        code: str = "VENDOR_ERROR",
        retryable: bool = False,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(CATALOGUE[code], message, details or {}, retry_after=retry_after)
        self.args = (f"{vendor}: {message}",)
        self.details: dict[str, Any] = details or {}
        self.vendor = vendor
        self.status = status
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        """Whether this answer may change on a retry (its status decides, not its code)."""
        return self._retryable

    @property
    def vendor_details(self) -> dict[str, Any]:
        """The vendor, its status and its own details, as failures report them."""
        return {"vendor": self.vendor, "status": self.status, **(self.details or {})}


RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def error_code(vendor: str, status: int | None) -> str:
    """A stable machine code for a vendor failure, e.g. `ETSY_VALIDATION`."""
    prefix = vendor.upper()
    if status is None:
        return f"{prefix}_UNAVAILABLE"
    if status in (400, 422):
        return f"{prefix}_VALIDATION"
    if status in (401, 403):
        return f"{prefix}_AUTH"
    if status == 404:
        return f"{prefix}_NOT_FOUND"
    if status == 409:
        return f"{prefix}_CONFLICT"
    if status == 429:
        return f"{prefix}_RATE_LIMITED"
    return f"{prefix}_UNAVAILABLE"
