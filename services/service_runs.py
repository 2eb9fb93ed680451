"""Each service of the chain on its own: a brief, a design for a brief, a listing for a
design. Every one is a short workflow recorded as a run like the whole chain (same
quotas, idempotency and `GET /v1/workflows/{id}`), see ADR 0016."""

from __future__ import annotations

import hashlib
import uuid

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from domain import errors
from domain.errors import DomainError
from models import repositories
from models.payloads import (
    DesignBrief,
    DesignToListingInput,
    ProductTemplate,
    RunKind,
)
from models.repositories import NotFoundError
from models.requests import BriefRequest, DesignRequest, PublishRequest, body_digest, recorded_input
from models.tables import WorkflowRun
from services.runs import active_integration, listing_target, resolve_template, start_run
from services.vendors import VendorGateway

# Briefs a design may be made from: screened and safe (approved = already chosen once).
DESIGNABLE = ("ready", "approved")


def _request_key(kind: RunKind, scope: object, key: str) -> str:
    """The recorded key of a request: its kind, what it is about and the client's key
    (hashed, so any key the header allows fits the 200-character column)."""
    return f"{kind}:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


async def start_brief(
    *, session: AsyncSession, temporal: Client, tenant_id: str, key: str, body: BriefRequest
) -> tuple[WorkflowRun, bool]:
    """A brief for a keyword or a trend signal's keyword, written and screened."""

    request_key = _request_key(RunKind.BRIEF, "keyword", key)

    async def make_input() -> DesignToListingInput:
        keyword = body.keyword
        if body.trend_signal_id is not None:
            try:
                signal = await repositories.trends.get_trend_signal(
                    session, tenant_id=tenant_id, signal_id=body.trend_signal_id
                )
            except NotFoundError:
                raise DomainError(
                    errors.TREND_SIGNAL_NOT_FOUND,
                    "no such trend signal in this tenant",
                    {"trend_signal_id": str(body.trend_signal_id)},
                ) from None
            keyword = signal.keyword
        assert keyword is not None
        return DesignToListingInput(
            tenant_id=tenant_id,
            request_key=request_key,
            keyword=" ".join(keyword.split()),
            printify_integration_id="",
            etsy_integration_id="",
        )

    return await start_run(
        session=session,
        temporal=temporal,
        tenant_id=tenant_id,
        kind=RunKind.BRIEF,
        request_key=request_key,
        digest=body_digest(body.model_dump(mode="json")),
        make_input=make_input,
    )


async def start_design(
    *,
    session: AsyncSession,
    temporal: Client,
    tenant_id: str,
    brief_id: uuid.UUID,
    key: str,
    body: DesignRequest,
) -> tuple[WorkflowRun, bool]:
    """A print-ready design for a screened brief (which this approves), sized for the
    template's print area. Without a key, one design per brief: repeats return it."""
    brief = await repositories.briefs.get_brief(session, tenant_id=tenant_id, brief_id=brief_id)
    request_key = _request_key(RunKind.DESIGN, brief_id, key)

    async def make_input() -> DesignToListingInput:
        if brief.status not in DESIGNABLE:
            raise DomainError(
                errors.BRIEF_NOT_READY,
                f"the brief is {brief.status}; designs are made for screened briefs only",
                {"status": brief.status, "screening": brief.screening},
            )
        template = await resolve_template(session, tenant_id, template_id=body.template_id)
        printify = await active_integration(session, tenant_id, "printify")
        await repositories.briefs.approve_brief(session, brief=brief)
        assert brief.data is not None
        return DesignToListingInput(
            tenant_id=tenant_id,
            request_key=request_key,
            keyword=brief.keyword,
            printify_integration_id=printify,
            etsy_integration_id="",
            template=template,
            brief_id=str(brief.id),
            brief=DesignBrief(**brief.data),
        )

    return await start_run(
        session=session,
        temporal=temporal,
        tenant_id=tenant_id,
        kind=RunKind.DESIGN,
        request_key=request_key,
        digest=body_digest(body.model_dump(mode="json")),
        make_input=make_input,
    )


async def start_publish(
    *,
    session: AsyncSession,
    temporal: Client,
    tenant_id: str,
    vendors: VendorGateway,
    design_id: uuid.UUID,
    key: str,
    body: PublishRequest,
) -> tuple[WorkflowRun, bool]:
    """The Printify product and Etsy listing for a design, with the template the design
    was made for. Without a key, one listing per design: repeats return the same run."""
    design = await repositories.designs.get_design(
        session, tenant_id=tenant_id, design_id=design_id
    )
    request_key = _request_key(RunKind.PUBLISH, design_id, key)

    async def make_input() -> DesignToListingInput:
        listed = await repositories.listings.get_listing_of_design(
            session, tenant_id=tenant_id, design_id=design_id
        )
        if listed is not None:
            raise DomainError(
                errors.DESIGN_ALREADY_LISTED,
                "this design already has a listing",
                {"etsy_listing_id": listed.etsy_listing_id, "workflow_id": listed.workflow_id},
            )
        # Under the tenant lock (start_run), so two requests cannot both pass this.
        listing_runs = await repositories.listings.live_runs_listing_design(
            session, tenant_id=tenant_id, design_id=design_id, made_by=design.workflow_id
        )
        if listing_runs:
            raise DomainError(
                errors.DESIGN_ALREADY_LISTED,
                "a run under way is already listing this design",
                {"workflow_id": listing_runs[0]},
            )
        brief = await repositories.briefs.get_brief(
            session, tenant_id=tenant_id, brief_id=design.brief_id
        )
        made_by = await repositories.runs.get_run(
            session, tenant_id=tenant_id, workflow_id=design.workflow_id
        )
        assert brief.data is not None
        template = recorded_template(made_by)
        target = await listing_target(
            session,
            vendors,
            tenant_id=tenant_id,
            template=template,
            printify_shop_id=body.printify_shop_id,
        )
        return DesignToListingInput(
            tenant_id=tenant_id,
            request_key=request_key,
            keyword=brief.keyword,
            printify_integration_id=target.printify_integration_id,
            etsy_integration_id=target.etsy_integration_id,
            # The print file fits this template's print area.
            template=template,
            printify_shop_id=body.printify_shop_id,
            etsy_shop_id=body.etsy_shop_id,
            brief_id=str(brief.id),
            brief=DesignBrief(**brief.data),
            print_file=repositories.designs.print_file_of(design),
            etsy_listing=target.etsy_listing,
            printify_channel=target.channel,
        )

    return await start_run(
        session=session,
        temporal=temporal,
        tenant_id=tenant_id,
        kind=RunKind.PUBLISH,
        request_key=request_key,
        digest=body_digest(body.model_dump(mode="json")),
        make_input=make_input,
    )


def recorded_template(run: WorkflowRun | None) -> ProductTemplate:
    """The template the run that made a design used (the built-in one if it is gone)."""
    return recorded_input(run).template if run is not None else ProductTemplate()
