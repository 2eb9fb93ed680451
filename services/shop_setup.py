"""A seller's shops as the vendors describe them, kept on the integrations: the Etsy shop's
setup (read when the shop is connected, or on request) and the profiles each run's
listing names; the Printify shops and how each sells on Etsy (its sales channel).

`read` asks Etsy for the shop's shipping profiles, return policies and processing
profiles; `refresh` stores them on the integration (`shop_setup`), with the scopes Etsy
says the token was granted (`scopes`); `listing_setup`
chooses a run's (`domain.shop_setup.choose`), reading the shop first when the
integration has never been read (connected before this existed, or Etsy failed then).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from domain import errors, shop_setup
from domain.errors import DomainError
from integrations.errors import VendorError
from integrations.etsy import EtsyClient
from models.payloads import EtsyListingSetup, ProductTemplate
from models.tables import Integration
from services.vendors import VendorGateway

logger = logging.getLogger(__name__)


async def read(client: EtsyClient, shop_id: int | None) -> dict[str, Any]:
    """The shop's setup as Etsy has it now (the token owner's shop without `shop_id`)."""
    if shop_id is None:
        me = await client.get_me()
        if not me.get("shop_id"):
            raise DomainError(errors.ETSY_SETUP_MISSING, "the Etsy user has no shop")
        shop_id = int(me["shop_id"])
    shop = await client.get_shop(shop_id)
    shipping = await client.get_shipping_profiles(shop_id)
    returns = await client.get_return_policies(shop_id)
    readiness = await client.get_readiness_state_definitions(shop_id)
    return {
        "shop_id": shop_id,
        "shop_name": shop.get("shop_name"),
        "country_iso": shop.get("shop_location_country_iso"),
        "shipping_profiles": [
            {
                "id": int(p["shipping_profile_id"]),
                "title": p.get("title") or "",
                "origin_country_iso": p.get("origin_country_iso"),
            }
            for p in shipping
            if not p.get("is_deleted")
        ],
        "return_policies": [
            {
                "id": int(p["return_policy_id"]),
                "accepts_returns": bool(p.get("accepts_returns")),
                "accepts_exchanges": bool(p.get("accepts_exchanges")),
                "return_deadline": p.get("return_deadline"),
            }
            for p in returns
        ],
        "readiness_states": [
            {
                "id": int(p["readiness_state_id"]),
                "readiness_state": p.get("readiness_state"),
                "min_processing_days": p.get("min_processing_days"),
                "max_processing_days": p.get("max_processing_days"),
            }
            for p in readiness
        ],
        "read_at": datetime.now(UTC).isoformat(),
    }


async def refresh(
    session: AsyncSession, vendors: VendorGateway, row: Integration
) -> dict[str, Any]:
    """Read the shop's setup from Etsy and keep it on the integration (not committed)."""
    client = await vendors.etsy(row.tenant_id, str(row.id))
    setup = await read(client, row.shop_id)
    row.shop_setup = setup
    # What the token may do: a connection without the order scopes is told to reconnect.
    # A side read: should Etsy not answer it, the scopes stay as they were known.
    try:
        row.scopes = await client.token_scopes()
    except VendorError as exc:
        logger.warning("could not read the Etsy token's scopes of %s: %s", row.id, exc)
    if row.shop_id is None:
        row.shop_id = setup["shop_id"]
    session.add(row)
    await session.flush()
    return setup


async def refresh_quietly(session: AsyncSession, vendors: VendorGateway, row: Integration) -> None:
    """Read what the vendor says of the shop when it is connected (Etsy: its profiles;
    Printify: its shops and sales channels): a failure is logged, and the setup is read
    again when a run is requested (the connection itself stands)."""
    read = refresh if row.vendor == "etsy" else refresh_printify
    try:
        await read(session, vendors, row)
    except (VendorError, DomainError) as exc:
        logger.warning("could not read the %s shop setup of %s: %s", row.vendor, row.id, exc)


async def listing_setup(
    session: AsyncSession,
    vendors: VendorGateway,
    *,
    row: Integration,
    template: ProductTemplate,
) -> EtsyListingSetup:
    """The profiles a run's listing names (`row`: the tenant's Etsy integration): the
    template's, the integration's defaults or the shop's only ones; a 409 naming the
    options when that does not decide it."""
    if not row.shop_setup:
        await refresh(session, vendors, row)
    return chosen_setup(row, template)


def chosen_setup(row: Integration, template: ProductTemplate) -> EtsyListingSetup:
    """The profiles from the setup already read (`ETSY_SETUP_MISSING` if it never was)."""
    if not row.shop_setup:
        raise DomainError(
            errors.ETSY_SETUP_MISSING,
            "the Etsy shop's setup has not been read yet; refresh it "
            "(POST /v1/integrations/etsy/shop-setup/refresh)",
        )
    chosen = shop_setup.choose(
        row.shop_setup,
        {
            "shipping_profile_id": template.etsy_shipping_profile_id,
            "return_policy_id": template.etsy_return_policy_id,
            "readiness_state_id": template.etsy_readiness_state_id,
        },
        row.listing_defaults or {},
    )
    return EtsyListingSetup(**chosen)


async def set_defaults(
    session: AsyncSession,
    vendors: VendorGateway,
    row: Integration,
    defaults: dict[str, int | None],
) -> Integration:
    """Keep the seller's default profiles; each must be one of the shop's (not committed)."""
    setup = row.shop_setup or await refresh(session, vendors, row)
    unknown = {
        kind.field: {"id": defaults[kind.field], "options": setup.get(kind.options) or []}
        for kind in shop_setup.KINDS
        if defaults.get(kind.field) is not None
        and defaults[kind.field] not in shop_setup.option_ids(setup, kind)
    }
    if unknown:
        raise DomainError(
            errors.ETSY_SETUP_UNKNOWN,
            "the Etsy shop has no " + ", ".join(sorted(unknown)) + " with that id",
            {"unknown": unknown},
        )
    row.listing_defaults = {field: defaults.get(field) for field in shop_setup.FIELDS}
    session.add(row)
    await session.flush()
    return row


# Printify sales channels a run can list through (docs/vendors/printify.md, ADR 0023).
CHANNELS = frozenset({"etsy", "custom_integration"})


async def refresh_printify(
    session: AsyncSession, vendors: VendorGateway, row: Integration
) -> dict[str, Any]:
    """Read the account's shops (`shops.json`) onto the integration (not committed)."""
    client = await vendors.printify(row.tenant_id, str(row.id))
    shops = await client.list_shops()
    setup = {
        "shops": [
            {
                "id": int(shop["id"]),
                "title": str(shop.get("title") or ""),
                "sales_channel": str(shop.get("sales_channel") or ""),
            }
            for shop in shops
        ],
        "read_at": datetime.now(UTC).isoformat(),
    }
    row.shop_setup = setup
    session.add(row)
    await session.flush()
    return setup


async def printify_channel(
    session: AsyncSession,
    vendors: VendorGateway,
    *,
    row: Integration,
    shop_id: int | None,
) -> str:
    """How the run's Printify shop sells on Etsy: `etsy` or `custom_integration`
    (`row`: the tenant's Printify integration).

    The shop is the request's, the integration's, or the account's only one; the shops
    are read from Printify when never read, or when the shop is not among them. Several
    shops and no choice, an unknown shop or another sales channel is a 409.
    """
    setup = row.shop_setup if row.shop_setup and "shops" in row.shop_setup else None
    wanted = shop_id or row.shop_id
    if setup is None or (wanted is not None and wanted not in _ids(setup)):
        setup = await refresh_printify(session, vendors, row)
    shops = setup["shops"]
    if wanted is None:
        if len(shops) != 1:
            raise DomainError(
                errors.PRINTIFY_SHOP_CHOICE_REQUIRED,
                f"the Printify account has {len(shops)} shops; set shop_id on the integration "
                "(PUT /v1/integrations/printify) or in the request",
                {"shops": shops},
            )
        wanted = int(shops[0]["id"])
    shop = next((s for s in shops if s["id"] == wanted), None)
    if shop is None:
        raise DomainError(
            errors.PRINTIFY_SHOP_CHOICE_REQUIRED,
            f"the Printify account has no shop {wanted}",
            {"shops": shops},
        )
    if shop["sales_channel"] not in CHANNELS:
        raise DomainError(
            errors.PRINTIFY_CHANNEL_UNSUPPORTED,
            f"Printify shop {wanted} sells through {shop['sales_channel'] or 'no channel'}; "
            "connect it to Etsy in Printify, or use a custom (API) shop",
            {"shop_id": wanted, "sales_channel": shop["sales_channel"]},
        )
    return str(shop["sales_channel"])


def _ids(setup: dict[str, Any]) -> set[int]:
    return {int(shop["id"]) for shop in setup.get("shops", [])}
