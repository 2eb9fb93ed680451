"""The tenant's vendor integrations: list, connect (tokens encrypted at rest), disconnect,
and the connected Etsy shop's setup (its profiles, read from Etsy) and listing defaults."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.auth import IntegrationsRead, IntegrationsWrite
from api.deps import SessionDep, SettingsDep, TemporalDep, VendorsDep
from api.hygiene import KnownQueryRoute
from api.schemas import (
    ErrorBody,
    EtsyConnectPublic,
    IntegrationIn,
    IntegrationPage,
    IntegrationPublic,
    ListingDefaults,
    Vendor,
)
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.tables import Integration
from services import etsy_connect, order_sync, shop_setup
from services.accounts import store_integration

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/integrations", tags=["integrations"])


@router.get("", operation_id="list_integrations", response_model=IntegrationPage)
async def list_integrations(session: SessionDep, principal: IntegrationsRead) -> IntegrationPage:
    """Connected vendors and their state; tokens are never shown."""
    rows = await repositories.integrations.list_integrations(session, tenant_id=principal.tenant_id)
    data = [IntegrationPublic.model_validate(r, from_attributes=True) for r in rows]
    return IntegrationPage(data=data, count=len(data))


@router.get("/etsy/connect", operation_id="connect_etsy", response_model=EtsyConnectPublic)
async def connect_etsy(
    session: SessionDep, settings: SettingsDep, principal: IntegrationsWrite
) -> EtsyConnectPublic:
    """Start connecting an Etsy shop: the URL where the seller approves the app (OAuth 2.0
    with PKCE). Etsy then redirects to the callback, which stores the tokens encrypted."""
    authorization = await etsy_connect.start(
        session,
        settings,
        settings.cipher,
        tenant_id=principal.tenant_id,
        member_id=principal.member_id,
    )
    await session.commit()
    return EtsyConnectPublic(
        authorization_url=authorization.url, expires_at=authorization.expires_at
    )


@router.get(
    "/etsy/callback",
    operation_id="etsy_callback",
    response_model=IntegrationPublic,
    responses={400: {"model": ErrorBody, "description": "Unknown, used or expired state"}},
)
async def etsy_callback(
    session: SessionDep,
    settings: SettingsDep,
    vendors: VendorsDep,
    temporal: TemporalDep,
    state: Annotated[str, Query(min_length=1, max_length=256)],
    code: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
    error: Annotated[str | None, Query(max_length=100)] = None,
    error_description: Annotated[str | None, Query(max_length=500)] = None,
) -> IntegrationPublic:
    """Where Etsy sends the seller back (public: the single-use state is the proof).

    Exchanges the code with the PKCE verifier kept for the state, and connects the
    tenant's Etsy shop with the tokens (encrypted) and their expiry.
    """
    if error is not None or code is None:
        raise DomainError(
            errors.OAUTH_DENIED,
            "Etsy did not authorize the connection",
            {"error": error or "missing_code", "error_description": error_description or ""},
        )
    row = await etsy_connect.finish(
        session, settings.cipher, vendors.etsy_app(), state=state, code=code
    )
    await shop_setup.refresh_quietly(session, vendors, row)
    await session.commit()
    await order_sync.schedule_quietly(temporal, settings, tenant_id=row.tenant_id)
    return IntegrationPublic.model_validate(row, from_attributes=True)


@router.put("/{vendor}", operation_id="put_integration", response_model=IntegrationPublic)
async def put_integration(
    vendor: Vendor,
    body: IntegrationIn,
    session: SessionDep,
    settings: SettingsDep,
    vendors: VendorsDep,
    temporal: TemporalDep,
    principal: IntegrationsWrite,
) -> IntegrationPublic:
    """Connect a vendor with a token (a Printify personal access token, or Etsy OAuth tokens).

    Replaces the tenant's earlier connection to that vendor. Runs already under way load
    the new token on their next step. An Etsy shop's setup (shipping profiles, return
    policies, processing profiles) is read at once; should Etsy not answer, it is read
    again when a run is requested.
    """
    row = await store_integration(
        session,
        settings.cipher,
        tenant_id=principal.tenant_id,
        vendor=vendor,
        access_token=body.access_token,
        refresh_token=body.refresh_token,
        token_expires_at=body.token_expires_at,
        shop_id=body.shop_id,
    )
    await session.commit()  # first: the vendor gateway reads the token in its own session
    await shop_setup.refresh_quietly(session, vendors, row)
    await session.commit()
    if vendor == "etsy":  # its paid orders are read on a schedule from now on
        await order_sync.schedule_quietly(temporal, settings, tenant_id=principal.tenant_id)
    return IntegrationPublic.model_validate(row, from_attributes=True)


async def _etsy_integration(session: SessionDep, tenant_id: str) -> Integration:
    row = await repositories.integrations.find_integration(
        session, tenant_id=tenant_id, vendor="etsy"
    )
    if row is None or row.status != "active":
        raise DomainError(
            errors.INTEGRATION_REQUIRED,
            "connect Etsy first (GET /v1/integrations/etsy/connect)",
            {"vendor": "etsy", "status": row.status if row else "missing"},
        )
    return row


SETUP_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "Etsy does not know the shop (ETSY_NOT_FOUND)"},
    409: {"model": ErrorBody, "description": "No Etsy integration, or an id not of the shop"},
    502: {"model": ErrorBody, "description": "Etsy did not answer as expected"},
}


@router.post(
    "/etsy/shop-setup/refresh",
    operation_id="refresh_etsy_shop_setup",
    response_model=IntegrationPublic,
    responses=SETUP_ERRORS,
)
async def refresh_etsy_shop_setup(
    session: SessionDep, vendors: VendorsDep, principal: IntegrationsWrite
) -> IntegrationPublic:
    """Read the connected shop's shipping profiles, return policies and processing profiles
    from Etsy again (after the seller changed them in Etsy's shop manager)."""
    row = await _etsy_integration(session, principal.tenant_id)
    await shop_setup.refresh(session, vendors, row)
    await session.commit()
    return IntegrationPublic.model_validate(row, from_attributes=True)


@router.put(
    "/etsy/listing-defaults",
    operation_id="put_etsy_listing_defaults",
    response_model=IntegrationPublic,
    responses=SETUP_ERRORS,
)
async def put_etsy_listing_defaults(
    body: ListingDefaults, session: SessionDep, vendors: VendorsDep, principal: IntegrationsWrite
) -> IntegrationPublic:
    """The shop's profiles a listing names unless its template names its own; each must be
    one of the shop's (see `shop_setup`). A field left out or null has no default: a shop
    with one option uses it, a shop with several refuses the run until one is chosen."""
    row = await _etsy_integration(session, principal.tenant_id)
    await shop_setup.set_defaults(session, vendors, row, body.model_dump())
    await session.commit()
    return IntegrationPublic.model_validate(row, from_attributes=True)


@router.delete(
    "/{integration_id}",
    operation_id="delete_integration",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        404: {"model": ErrorBody, "description": "No such integration in this tenant"},
        409: {"model": ErrorBody, "description": "Runs under way still use it"},
    },
)
async def delete_integration(
    integration_id: uuid.UUID, session: SessionDep, principal: IntegrationsWrite
) -> Response:
    """Disconnect: the stored tokens are deleted. Refused while runs still use it, since
    they need its token to finish or to take down what they made."""
    await repositories.integrations.get_integration(
        session, tenant_id=principal.tenant_id, integration_id=integration_id
    )
    in_use = await repositories.integrations.runs_using_integration(
        session, tenant_id=principal.tenant_id, integration_id=integration_id
    )
    if in_use:
        raise DomainError(
            errors.INTEGRATION_IN_USE,
            "runs under way still use this integration; cancel them or wait",
            {"workflow_ids": in_use},
        )
    await repositories.integrations.delete_integration(
        session, tenant_id=principal.tenant_id, integration_id=integration_id
    )
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
