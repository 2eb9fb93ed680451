"""The error catalogue: one entry per code, one HTTP status per kind, one Temporal failure
per error, and the contract's non-retryable types taken from it."""

from __future__ import annotations

import pytest

from activities.errors import activity_failure
from api.errors import STATUS, domain_error_headers
from domain import errors
from domain.errors import (
    CATALOGUE,
    VENDORS,
    DomainError,
    ErrorKind,
    non_retryable_codes,
    register,
)
from integrations.errors import VendorError
from workflows.contract import NON_RETRYABLE


def test_every_kind_has_an_http_status() -> None:
    assert set(STATUS) == set(ErrorKind)


def test_a_code_is_registered_once() -> None:
    assert register("INVALID_INPUT", ErrorKind.INVALID) is CATALOGUE["INVALID_INPUT"]
    with pytest.raises(ValueError, match="registered twice"):
        register("INVALID_INPUT", ErrorKind.CONFLICT)


def test_the_contract_never_retries_what_the_catalogue_calls_permanent() -> None:
    # A subset: a test may register a vendor of its own after the contract was imported.
    assert set(NON_RETRYABLE) <= set(non_retryable_codes())
    for vendor in VENDORS:
        permanent = {f"{vendor.upper()}_{outcome}" for outcome in ("VALIDATION", "AUTH")}
        assert permanent <= set(NON_RETRYABLE)
    assert {"INVALID_INPUT", "UNSAFE_CONTENT", "EXTERNAL_REF_TAKEN"} <= set(NON_RETRYABLE)
    assert not {"ETSY_RATE_LIMITED", "PRINTIFY_UNAVAILABLE", "LISTING_CLAIMED"} & set(NON_RETRYABLE)


def test_a_domain_error_becomes_a_temporal_failure_of_its_code() -> None:
    failure = activity_failure(DomainError(errors.PRICING_FAILED, "cannot price", {"id": "1"}))
    assert (failure.type, failure.message, failure.non_retryable) == (
        "PRICING_FAILED",
        "cannot price",
        True,
    )
    assert failure.details == ({"id": "1"},)
    retried = activity_failure(DomainError(errors.LISTING_CLAIMED, "taken"))
    assert not retried.non_retryable and retried.details == ()


def test_a_vendor_error_is_retried_by_its_status_not_its_code() -> None:
    busy = VendorError("etsy", "busy", status=409, code="ETSY_CONFLICT", retryable=False)
    assert busy.kind is ErrorKind.CONFLICT and CATALOGUE["ETSY_CONFLICT"].retryable
    assert activity_failure(busy).non_retryable
    with pytest.raises(KeyError):
        VendorError("etsy", "unknown", code="ETSY_SOMETHING_NEW")


def test_http_headers_come_from_the_error() -> None:
    assert domain_error_headers(DomainError(errors.UNAUTHENTICATED, "no key")) == {
        "WWW-Authenticate": "Bearer"
    }
    assert domain_error_headers(DomainError(errors.RATE_LIMITED, "wait", retry_after=1.2)) == {
        "Retry-After": "2"
    }
    assert domain_error_headers(DomainError(errors.NOT_FOUND, "gone")) is None
