"""The tenant's vendor integrations: list, connect (tokens encrypted at rest), disconnect."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from api.auth import IntegrationsRead, IntegrationsWrite
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.schemas import ErrorBody, IntegrationIn, IntegrationPage, IntegrationPublic, Vendor
from core.accounts import store_integration
from models import tenancy

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


@router.get("", operation_id="list_integrations", response_model=IntegrationPage)
async def list_integrations(session: SessionDep, principal: IntegrationsRead) -> IntegrationPage:
    """Connected vendors and their state; tokens are never shown."""
    rows = await tenancy.list_integrations(session, tenant_id=principal.tenant_id)
    data = [IntegrationPublic.model_validate(r, from_attributes=True) for r in rows]
    return IntegrationPage(data=data, count=len(data))


@router.put("/{vendor}", operation_id="put_integration", response_model=IntegrationPublic)
async def put_integration(
    vendor: Vendor,
    body: IntegrationIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: IntegrationsWrite,
) -> IntegrationPublic:
    """Connect a vendor with a token (a Printify personal access token, or Etsy OAuth tokens).

    Replaces the tenant's earlier connection to that vendor. Runs already under way load
    the new token on their next step.
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
    await tenancy.get_integration(
        session, tenant_id=principal.tenant_id, integration_id=integration_id
    )
    in_use = await tenancy.runs_using_integration(
        session, tenant_id=principal.tenant_id, integration_id=integration_id
    )
    if in_use:
        raise ApiError(
            409,
            "INTEGRATION_IN_USE",
            "runs under way still use this integration; cancel them or wait",
            {"workflow_ids": in_use},
        )
    await tenancy.delete_integration(
        session, tenant_id=principal.tenant_id, integration_id=integration_id
    )
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
