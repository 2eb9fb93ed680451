"""Which of a seller's Etsy shop's profiles a listing names (pure: no I/O).

Every shop has its own shipping profiles, return policies and processing profiles
(readiness state definitions); a listing must name the shop's own. The choice, for each
kind: the template's, else the integration's default, else the shop's only one. A shop
with several and no choice, or with none where one is needed, is refused with a code that
names the options, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain import errors
from domain.errors import DomainError

EU_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"}
    | {"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)


@dataclass(frozen=True)
class Kind:
    """One kind of profile: the listing's field, the setup's list, how an option reads."""

    field: str
    options: str
    label: str


KINDS = (
    Kind("shipping_profile_id", "shipping_profiles", "shipping profile"),
    Kind("return_policy_id", "return_policies", "return policy"),
    Kind("readiness_state_id", "readiness_states", "processing profile"),
)
FIELDS = tuple(kind.field for kind in KINDS)


def option_ids(setup: Mapping[str, Any], kind: Kind) -> list[int]:
    return [int(option["id"]) for option in setup.get(kind.options) or []]


def needs_return_policy(setup: Mapping[str, Any]) -> bool:
    """Etsy activates a physical listing without a return policy only in an EU shop."""
    return setup.get("country_iso") not in EU_COUNTRIES


def choose(
    setup: Mapping[str, Any],
    template: Mapping[str, int | None],
    defaults: Mapping[str, int | None],
) -> dict[str, int | None]:
    """The listing's `{field: id}` from the shop's `setup`; `DomainError` when it cannot be.

    `template` and `defaults` map each field to a chosen id or None. A chosen id the shop
    does not have is refused (`ETSY_SETUP_UNKNOWN`); several options and no choice
    (`ETSY_SETUP_CHOICE_REQUIRED`) or none where Etsy needs one (`ETSY_SETUP_MISSING`) are
    refused too, with every option of every open kind in the details.
    """
    chosen: dict[str, int | None] = {}
    unknown: dict[str, Any] = {}
    open_kinds: dict[str, list[dict[str, Any]]] = {}
    missing: list[str] = []
    for kind in KINDS:
        ids = option_ids(setup, kind)
        wanted = template.get(kind.field) or defaults.get(kind.field)
        if wanted is not None:
            if wanted not in ids:
                unknown[kind.field] = {"id": wanted, "options": setup.get(kind.options) or []}
            chosen[kind.field] = wanted
        elif len(ids) == 1:
            chosen[kind.field] = ids[0]
        elif ids:
            open_kinds[kind.field] = list(setup.get(kind.options) or [])
        elif kind.field == "return_policy_id" and not needs_return_policy(setup):
            chosen[kind.field] = None
        else:
            missing.append(kind.label)
    if unknown:
        raise DomainError(
            errors.ETSY_SETUP_UNKNOWN,
            "the Etsy shop has no " + ", ".join(sorted(unknown)) + " with the chosen id; "
            "refresh its setup or choose one of the options",
            {"unknown": unknown},
        )
    if missing:
        raise DomainError(
            errors.ETSY_SETUP_MISSING,
            "the Etsy shop has no " + " or ".join(missing) + "; create one in Etsy's shop "
            "manager, then refresh the setup (POST /v1/integrations/etsy/shop-setup/refresh)",
            {"missing": missing},
        )
    if open_kinds:
        raise DomainError(
            errors.ETSY_SETUP_CHOICE_REQUIRED,
            "the Etsy shop has several " + ", ".join(sorted(open_kinds)) + " options; choose "
            "one on the template or as the integration's default "
            "(PUT /v1/integrations/etsy/listing-defaults)",
            {"options": open_kinds},
        )
    return chosen
