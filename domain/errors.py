"""The error catalogue: every refusal and failure the product names, in one place.

Services, repositories, clients and activities raise `DomainError` (or a subclass) with a
code from this catalogue; each code has a kind (what went wrong, for any caller) and
whether trying again can help. Two places translate, and only they: `api/errors.py` maps
kinds to HTTP statuses, `activities/errors.py` maps errors to Temporal failures, and the
contract's non-retryable error types are the catalogue's non-retryable codes (ADR 0005).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    """What went wrong, as any caller (HTTP client, workflow, operator) needs to know it."""

    INVALID = "invalid"  # the request can never succeed as sent
    MALFORMED = "malformed"  # the request could not even be read
    UNAUTHENTICATED = "unauthenticated"  # no valid credential
    FORBIDDEN = "forbidden"  # a credential that may not do this
    NOT_FOUND = "not_found"  # nothing of that id here
    CONFLICT = "conflict"  # the current state does not allow it
    QUOTA = "quota"  # the plan's limit would be passed
    RATE_LIMITED = "rate_limited"  # too often: wait, then it may succeed
    UNAVAILABLE = "unavailable"  # a part of ours is down: try again later
    UPSTREAM = "upstream"  # a vendor failed or refused


# Kinds a retry can help with, unless an entry says otherwise.
_RETRYABLE_KINDS = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE})


@dataclass(frozen=True)
class ErrorCode:
    """One entry of the catalogue: a stable machine code and what it means."""

    code: str
    kind: ErrorKind
    retryable: bool


CATALOGUE: dict[str, ErrorCode] = {}


def register(code: str, kind: ErrorKind, *, retryable: bool | None = None) -> ErrorCode:
    """Add a code to the catalogue (once); `retryable` defaults to what its kind implies."""
    entry = ErrorCode(code, kind, kind in _RETRYABLE_KINDS if retryable is None else retryable)
    stored = CATALOGUE.setdefault(code, entry)
    if stored != entry:
        raise ValueError(f"error code {code} is registered twice, differently")
    return stored


class DomainError(Exception):
    """A refusal or failure with its catalogue entry, a message for people and details."""

    def __init__(
        self,
        error: ErrorCode,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.details = details
        self.retry_after = retry_after  # seconds, when the cause said how long to wait

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def kind(self) -> ErrorKind:
        return self.error.kind

    @property
    def retryable(self) -> bool:
        return self.error.retryable


def non_retryable_codes() -> list[str]:
    """The codes no retry can fix: the contract's non-retryable error types."""
    return sorted(code for code, entry in CATALOGUE.items() if not entry.retryable)


K = ErrorKind
# Requests and their inputs.
INVALID_INPUT = register("INVALID_INPUT", K.INVALID)
BAD_REQUEST = register("BAD_REQUEST", K.MALFORMED)
UNSAFE_CONTENT = register("UNSAFE_CONTENT", K.INVALID)
IDEMPOTENCY_KEY_REUSED = register("IDEMPOTENCY_KEY_REUSED", K.CONFLICT)
INVALID_STATE = register("INVALID_STATE", K.CONFLICT)
NOT_FOUND = register("NOT_FOUND", K.NOT_FOUND)
WORKFLOW_UNAVAILABLE = register("WORKFLOW_UNAVAILABLE", K.UNAVAILABLE)
TEMPORAL_UNAVAILABLE = register("TEMPORAL_UNAVAILABLE", K.UNAVAILABLE)
DATABASE_UNAVAILABLE = register("DATABASE_UNAVAILABLE", K.UNAVAILABLE)
NOT_READY = register("NOT_READY", K.UNAVAILABLE)  # `/readyz`: a part the API needs is down
DATABASE_REFUSED = register("DATABASE_REFUSED", K.INVALID, retryable=False)
# Credentials, members and keys.
UNAUTHENTICATED = register("UNAUTHENTICATED", K.UNAUTHENTICATED)
WEBHOOK_SIGNATURE_INVALID = register("WEBHOOK_SIGNATURE_INVALID", K.UNAUTHENTICATED)
FILE_LINK_INVALID = register("FILE_LINK_INVALID", K.FORBIDDEN)
FORBIDDEN = register("FORBIDDEN", K.FORBIDDEN)
RATE_LIMITED = register("RATE_LIMITED", K.RATE_LIMITED)
SCOPE_BEYOND_ROLE = register("SCOPE_BEYOND_ROLE", K.INVALID)
SCOPE_BEYOND_KEY = register("SCOPE_BEYOND_KEY", K.FORBIDDEN)
ALREADY_MEMBER = register("ALREADY_MEMBER", K.CONFLICT)
LAST_OWNER = register("LAST_OWNER", K.CONFLICT)
QUOTA_EXCEEDED = register("QUOTA_EXCEEDED", K.QUOTA)
# Integrations.
INTEGRATION_REQUIRED = register("INTEGRATION_REQUIRED", K.CONFLICT)
INTEGRATION_REJECTED = register("INTEGRATION_REJECTED", K.CONFLICT)
INTEGRATION_IN_USE = register("INTEGRATION_IN_USE", K.CONFLICT)
ETSY_SETUP_CHOICE_REQUIRED = register("ETSY_SETUP_CHOICE_REQUIRED", K.CONFLICT)
ETSY_SETUP_MISSING = register("ETSY_SETUP_MISSING", K.CONFLICT)
ETSY_SETUP_UNKNOWN = register("ETSY_SETUP_UNKNOWN", K.CONFLICT)
PRINTIFY_SHOP_CHOICE_REQUIRED = register("PRINTIFY_SHOP_CHOICE_REQUIRED", K.CONFLICT)
PRINTIFY_CHANNEL_UNSUPPORTED = register("PRINTIFY_CHANNEL_UNSUPPORTED", K.CONFLICT)
PRINTIFY_CHANNEL_FAILED = register("PRINTIFY_CHANNEL_FAILED", K.UPSTREAM, retryable=False)
OAUTH_DENIED = register("OAUTH_DENIED", K.MALFORMED)
VENDOR_ERROR = register("VENDOR_ERROR", K.UPSTREAM)
# Templates, briefs, designs and listings.
TEMPLATE_INVALID = register("TEMPLATE_INVALID", K.INVALID)
TEMPLATE_NOT_FOUND = register("TEMPLATE_NOT_FOUND", K.INVALID)
TEMPLATE_NAME_TAKEN = register("TEMPLATE_NAME_TAKEN", K.CONFLICT)
TEMPLATE_DEFAULT_CONFLICT = register("TEMPLATE_DEFAULT_CONFLICT", K.CONFLICT)
BRIEF_NOT_READY = register("BRIEF_NOT_READY", K.CONFLICT)
DESIGN_ALREADY_LISTED = register("DESIGN_ALREADY_LISTED", K.CONFLICT)
EXTERNAL_REF_TAKEN = register("EXTERNAL_REF_TAKEN", K.CONFLICT)
PROTECTED_NAME_EXISTS = register("PROTECTED_NAME_EXISTS", K.CONFLICT)
# Trends and campaigns.
TREND_SIGNAL_NOT_FOUND = register("TREND_SIGNAL_NOT_FOUND", K.INVALID)
CAMPAIGN_NOT_FOUND = register("CAMPAIGN_NOT_FOUND", K.NOT_FOUND)
SCRAPE_TOO_SOON = register("SCRAPE_TOO_SOON", K.RATE_LIMITED)
SCRAPE_NOT_FOUND = register("SCRAPE_NOT_FOUND", K.NOT_FOUND)
# Runs and activities.
ETSY_REAUTH_REQUIRED = register("ETSY_REAUTH_REQUIRED", K.UPSTREAM, retryable=False)
LISTING_CLAIMED = register("LISTING_CLAIMED", K.CONFLICT, retryable=True)
# Orders (issue 16).
ETSY_RECONNECT_REQUIRED = register("ETSY_RECONNECT_REQUIRED", K.CONFLICT, retryable=False)
ORDER_NOT_FOUND = register("ORDER_NOT_FOUND", K.NOT_FOUND)
ORDER_STATE_CONFLICT = register("ORDER_STATE_CONFLICT", K.CONFLICT)
ORDER_BUSY = register("ORDER_BUSY", K.CONFLICT, retryable=True)
ORDER_ADDRESS_INVALID = register("ORDER_ADDRESS_INVALID", K.INVALID)

# Vendors: one family of codes each, `<VENDOR>_<OUTCOME>` (integrations.errors.error_code).
VENDORS = ("printify", "etsy", "openai", "google_trends", "reddit", "pinterest")
VENDOR_OUTCOMES: dict[str, tuple[ErrorKind, bool]] = {
    "VALIDATION": (K.INVALID, False),
    "AUTH": (K.UPSTREAM, False),
    "NOT_FOUND": (K.NOT_FOUND, False),
    "CONFLICT": (K.CONFLICT, True),
    "RATE_LIMITED": (K.RATE_LIMITED, True),
    "UNAVAILABLE": (K.UPSTREAM, True),
}


def register_vendor(vendor: str) -> None:
    """Register a vendor's family of codes (a client of a new vendor starts here)."""
    for outcome, (kind, retryable) in VENDOR_OUTCOMES.items():
        register(f"{vendor.upper()}_{outcome}", kind, retryable=retryable)


for _vendor in VENDORS:
    register_vendor(_vendor)
OPENAI_INVALID_ANSWER = register("OPENAI_INVALID_ANSWER", K.UPSTREAM, retryable=False)
ETSY_BAD_RESPONSE = register("ETSY_BAD_RESPONSE", K.UPSTREAM, retryable=False)
INTEGRATION_UNREADABLE = register("INTEGRATION_UNREADABLE", K.CONFLICT)
INTEGRATION_MISSING = register("INTEGRATION_MISSING", K.CONFLICT)
INTEGRATION_MISMATCH = register("INTEGRATION_MISMATCH", K.INVALID)
INTEGRATION_INACTIVE = register("INTEGRATION_INACTIVE", K.CONFLICT)
OPENAI_INVALID_BRIEF = register("OPENAI_INVALID_BRIEF", K.UPSTREAM, retryable=True)
# The same, on the last attempt allowed: the run fails instead of paying on.
OPENAI_BRIEF_UNUSABLE = register("OPENAI_BRIEF_UNUSABLE", K.UPSTREAM, retryable=False)
PRICING_FAILED = register("PRICING_FAILED", K.INVALID)
PRINT_FILE_NEEDS_URL = register("PRINT_FILE_NEEDS_URL", K.CONFLICT, retryable=False)
VARIANTS_OUT_OF_STOCK = register("VARIANTS_OUT_OF_STOCK", K.CONFLICT, retryable=False)
SEATS_EXCEED_PLAN = register("SEATS_EXCEED_PLAN", K.CONFLICT)
OAUTH_STATE_INVALID = register("OAUTH_STATE_INVALID", K.MALFORMED)
OAUTH_EXCHANGE_FAILED = register("OAUTH_EXCHANGE_FAILED", K.MALFORMED)
# Schedules.
SCHEDULE_TIMING_INVALID = register("SCHEDULE_TIMING_INVALID", K.INVALID)
SCHEDULE_CRON_INVALID = register("SCHEDULE_CRON_INVALID", K.INVALID)
SCHEDULE_SOURCES_INVALID = register("SCHEDULE_SOURCES_INVALID", K.INVALID)
SCHEDULE_TOO_FREQUENT = register("SCHEDULE_TOO_FREQUENT", K.INVALID)
SCHEDULE_NAME_INVALID = register("SCHEDULE_NAME_INVALID", K.INVALID)
SCHEDULE_INVALID = register("SCHEDULE_INVALID", K.INVALID)
SCHEDULE_LIMIT_REACHED = register("SCHEDULE_LIMIT_REACHED", K.CONFLICT)
SCHEDULE_RUN_IN_PROGRESS = register("SCHEDULE_RUN_IN_PROGRESS", K.CONFLICT)
SCHEDULE_EXISTS = register("SCHEDULE_EXISTS", K.CONFLICT)
SCHEDULE_NOT_FOUND = register("SCHEDULE_NOT_FOUND", K.NOT_FOUND)
