"""Starting runs: recorded once per request key, started once in Temporal, within the
tenant's plan (the logic behind every start route: the chain, a brief, a design, a
listing, a campaign's runs)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.db import autocommit
from core.read_cache import ReadCache
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.payloads import (
    DesignToListingInput,
    EtsyListingSetup,
    ProductTemplate,
    RunKind,
    RunStatus,
    Stage,
)
from models.repositories import NotFoundError
from models.requests import DesignToListingRequest, ProductTemplateIn, body_digest, recorded_input
from models.tables import Integration, ProductTemplateRecord, WorkflowRun
from services import billing, shop_setup
from services.vendors import VendorGateway
from workflows.contract import (
    WORKFLOW_QUEUE,
    run_attributes,
    run_summary,
    run_workflow_id,
    tenant_attributes,
)
from workflows.design_to_listing import DesignToListingWorkflow
from workflows.services import BriefWorkflow, DesignWorkflow, PublishDesignWorkflow

logger = logging.getLogger(__name__)
# A live query needs a workflow worker; without one, answer from the record quickly.
QUERY_TIMEOUT = timedelta(seconds=3)
# When a client should try a start again after Temporal could not be reached.
TEMPORAL_RETRY_AFTER_SECONDS = 15
# The workflow of each kind of run (its run method).
WORKFLOWS: dict[RunKind, Callable[[Any, DesignToListingInput], Awaitable[Any]]] = {
    RunKind.DESIGN_TO_LISTING: DesignToListingWorkflow.run,
    RunKind.BRIEF: BriefWorkflow.run,
    RunKind.DESIGN: DesignWorkflow.run,
    RunKind.PUBLISH: PublishDesignWorkflow.run,
}


@dataclass(frozen=True)
class ListingTarget:
    """Where a run lists: its integrations, the Printify shop's sales channel and, when
    the run makes the Etsy listing itself, the Etsy shop's profiles it names."""

    printify_integration_id: str
    etsy_integration_id: str  # "" when Printify's own Etsy channel lists and none is connected
    channel: str
    etsy_listing: EtsyListingSetup | None


# What a start works out from its tenant's templates and integrations (the template's
# copy and the listing target), kept per API process and forgotten when either table's
# rows of the tenant change (migration 0017's notices, ADR 0035); callers only read it.
type StartSetup = tuple[ProductTemplate, ListingTarget]
StartSetups = ReadCache[StartSetup]
SETUP_GROUPS = ("integrations", "product_templates")


def request_hash(body: DesignToListingRequest) -> str:
    data = body.model_dump(mode="json")
    if data["template_id"] is None:
        del data["template_id"]  # requests from before saved templates hash as they did
    return body_digest(data)


async def start_design_to_listing(
    *,
    session: AsyncSession,
    temporal: Client,
    vendors: VendorGateway,
    tenant_id: str,
    idempotency_key: str,
    body: DesignToListingRequest,
    setups: StartSetups | None = None,
    pool: AsyncConnectionPool | None = None,
) -> tuple[WorkflowRun, bool]:
    """Record the request and start its workflow once; returns (run, created).

    A new request must fit the tenant's plan (402), needs the tenant's Printify and Etsy
    integrations (409) and a decided choice of the Etsy shop's profiles (409 naming the
    options); a repeated one is answered from its record, whether or not these checks
    still pass. `setups` keeps what the checks worked out (the process's cache), and
    `pool` (autocommit) takes the recording call: with the setup kept, a new request
    is that one statement and the session is never used.
    """

    async def make_input() -> DesignToListingInput:
        template, target = await start_setup(
            session, vendors, tenant_id=tenant_id, body=body, setups=setups
        )
        return DesignToListingInput(
            tenant_id=tenant_id,
            request_key=idempotency_key,
            keyword=body.keyword,  # single-spaced by its type (models.requests.Keyword)
            printify_integration_id=target.printify_integration_id,
            etsy_integration_id=target.etsy_integration_id,
            template=template,
            require_approval=body.require_approval,
            approval_timeout_seconds=body.approval_timeout_seconds,
            printify_shop_id=body.printify_shop_id,
            etsy_shop_id=body.etsy_shop_id,
            etsy_listing=target.etsy_listing,
            printify_channel=target.channel,
        )

    return await start_run(
        session=session,
        temporal=temporal,
        tenant_id=tenant_id,
        kind=RunKind.DESIGN_TO_LISTING,
        request_key=idempotency_key,
        digest=request_hash(body),
        make_input=make_input,
        input_only_reads=True,
        pool=pool,
    )


async def start_setup(
    session: AsyncSession,
    vendors: VendorGateway,
    *,
    tenant_id: str,
    body: DesignToListingRequest,
    setups: StartSetups | None,
) -> StartSetup:
    """The template's copy and the listing target of a design-to-listing request, from
    `setups` while the tenant's templates and integrations are as they were read (a
    refusal is never kept: it is worked out again)."""
    inline = body.template if "template" in body.model_fields_set else None
    key = (
        body.template_id,
        None if inline is None else inline.model_dump_json(),
        body.printify_shop_id,
    )
    stamp = None
    if setups is not None:
        found = setups.get(SETUP_GROUPS, tenant_id, key)
        if found is not None:
            return found
        stamp = setups.stamp(SETUP_GROUPS, tenant_id)
    await autocommit(session)  # reads, and a shop's setup refreshed, each on its own
    template = await resolve_template(
        session, tenant_id, template_id=body.template_id, inline=inline
    )
    target = await listing_target(
        session,
        vendors,
        tenant_id=tenant_id,
        template=template,
        printify_shop_id=body.printify_shop_id,
    )
    if setups is not None:
        setups.put(stamp, SETUP_GROUPS, tenant_id, key, (template, target))
    return template, target


async def start_run(
    *,
    session: AsyncSession,
    temporal: Client,
    tenant_id: str,
    kind: RunKind,
    request_key: str,
    digest: str,
    make_input: Callable[[], Awaitable[DesignToListingInput]],
    input_only_reads: bool = False,
    pool: AsyncConnectionPool | None = None,
) -> tuple[WorkflowRun, bool]:
    """Record a run of `kind` once per request key and start its workflow once.

    A new request must fit the tenant's plan (402) and is built by `make_input` (which
    may refuse it); a repeated one is answered from its record, and a repeat with another
    body (`digest`) is 409. When `make_input` only reads (`input_only_reads`), the
    request is built before its key is looked up: the recording call answers a repeat
    (`recorded`), and a repeat that can no longer be built is answered from its record.
    `pool` takes the recording call (`billing.record_start`).
    """
    workflow_id = run_workflow_id(kind, tenant_id, request_key)
    # Until its one write a start only reads: in autocommit, on one connection, it sends
    # no BEGIN and no COMMIT and checks a connection out once (profile in
    # docs/performance.md, "A start's round trips"). With a pool for the write, the
    # session is used only if the input needs it.
    if pool is None:
        await autocommit(session)
    run = None
    workflow_input = None
    if input_only_reads:
        # A new request, the common case, is then one statement: the recording call.
        try:
            workflow_input = await make_input()
        except DomainError:
            run = await repositories.runs.get_run_by_request_key(
                session, tenant_id=tenant_id, request_key=request_key
            )
            if run is None:
                raise
    else:
        run = await repositories.runs.get_run_by_request_key(
            session, tenant_id=tenant_id, request_key=request_key
        )
    created = False
    if run is None:
        # Building the input only reads (templates, integrations, the shops' setup) and
        # may refuse the request; then the run is recorded within the plan in one call
        # that holds the tenant's lock for itself alone (issue 15).
        if workflow_input is None:
            workflow_input = await make_input()
        run, created = await billing.record_start(
            session,
            repositories.runs.new_run(
                tenant_id=tenant_id,
                workflow_id=workflow_id,
                kind=kind,
                request_key=request_key,
                request_hash=digest,
                workflow_input=workflow_input,
            ),
            pool=pool,
        )
    await session.commit()
    # The input this request built, or a repeat's as it was recorded.
    workflow_input = (
        workflow_input if created and workflow_input is not None else recorded_input(run)
    )
    if run.request_hash != digest or run.kind != kind:
        raise DomainError(
            errors.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was used with a different request body",
            {"workflow_id": run.workflow_id},
        )

    async def forget() -> None:
        # The record this request made goes, so nothing half-made is listed or counted.
        await repositories.runs.delete_run(
            session, tenant_id=tenant_id, workflow_id=run.workflow_id
        )
        await session.commit()

    await start_once(
        temporal,
        WORKFLOWS[RunKind(run.kind)],
        workflow_input,
        workflow_id=run.workflow_id,
        tenant_id=tenant_id,
        forget=forget if created else None,
        attributes=run_attributes(
            tenant_id, run.keyword, stage=Stage.QUEUED, status=RunStatus.RUNNING
        ),
        summary=run_summary(run.kind, run.keyword, tenant_id),
    )
    return run, created


async def start_once(
    temporal: Client,
    workflow: Any,
    arg: Any,
    *,
    workflow_id: str,
    tenant_id: str,
    forget: Callable[[], Awaitable[None]] | None = None,
    attributes: TypedSearchAttributes | None = None,
    summary: str | None = None,
) -> None:
    """Start the workflow of a recorded request, once: safe to repeat (a record whose
    start never happened starts now, a running one is reused, a finished one is never
    started again). When Temporal cannot be reached, `forget` removes what this request
    recorded and the answer is 503 `TEMPORAL_UNAVAILABLE`. `attributes` (the tenant's by
    default) and `summary` are what the Web UI lists and filters it by."""
    try:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await temporal.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=WORKFLOW_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=attributes or tenant_attributes(tenant_id),
                static_summary=summary,
            )
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNAVAILABLE:
            raise
        if forget is not None:  # the start never got to Temporal
            await forget()
        logger.warning("temporal unreachable; %s not started: %s", workflow_id, exc)
        raise temporal_unavailable() from None


def temporal_unavailable(what: str = "nothing was started") -> DomainError:
    """503 `TEMPORAL_UNAVAILABLE` with `Retry-After`: Temporal did not answer."""
    return DomainError(
        errors.TEMPORAL_UNAVAILABLE,
        f"the workflow service cannot be reached; {what}, try again",
        retry_after=TEMPORAL_RETRY_AFTER_SECONDS,
    )


async def resolve_template(
    session: AsyncSession,
    tenant_id: str,
    *,
    template_id: uuid.UUID | None = None,
    inline: ProductTemplateIn | None = None,
) -> ProductTemplate:
    """A run's copy of its template: the one named, the inline one, the tenant's default,
    or the built-in default, in that order."""
    saved: ProductTemplateRecord | None
    if template_id is not None:
        try:
            saved = await repositories.templates.get_template(
                session, tenant_id=tenant_id, template_id=template_id
            )
        except NotFoundError:
            raise DomainError(
                errors.TEMPLATE_NOT_FOUND,
                "no such template in this tenant",
                {"template_id": str(template_id)},
            ) from None
    elif inline is not None:
        return ProductTemplate(**inline.model_dump())
    else:
        saved = await repositories.templates.get_default_template(session, tenant_id=tenant_id)
        if saved is None:
            return ProductTemplate(**ProductTemplateIn().model_dump())
    return repositories.templates.template_from_record(saved)


async def listing_target(
    session: AsyncSession,
    vendors: VendorGateway,
    *,
    tenant_id: str,
    template: ProductTemplate,
    printify_shop_id: int | None = None,
) -> ListingTarget:
    """The target of a new listing run (409s: no integration, no shop or profile chosen).

    A Printify shop on Printify's own Etsy channel needs no Etsy integration: Printify
    makes the listing. A custom (API) shop needs one, and its shop's profiles chosen.
    """
    # Both integrations in one read, each row then handed on (they were read four times).
    rows = {
        row.vendor: row
        for row in await repositories.integrations.list_integrations(session, tenant_id=tenant_id)
    }
    printify = _active(rows.get("printify"), "printify")
    channel = await shop_setup.printify_channel(
        session, vendors, row=printify, shop_id=printify_shop_id
    )
    if channel == "etsy":
        found = rows.get("etsy")
        etsy = str(found.id) if found is not None and found.status == "active" else ""
        return ListingTarget(str(printify.id), etsy, channel, None)
    etsy_row = _active(rows.get("etsy"), "etsy")
    setup = await shop_setup.listing_setup(session, vendors, row=etsy_row, template=template)
    return ListingTarget(str(printify.id), str(etsy_row.id), channel, setup)


async def active_integration(session: AsyncSession, tenant_id: str, vendor: str) -> str:
    integration = await repositories.integrations.find_integration(
        session, tenant_id=tenant_id, vendor=vendor
    )
    return str(_active(integration, vendor).id)


def _active(integration: Integration | None, vendor: str) -> Integration:
    if integration is None or integration.status != "active":
        raise DomainError(
            errors.INTEGRATION_REQUIRED,
            f"connect a {vendor} integration first (PUT /v1/integrations/{vendor})",
            {"vendor": vendor, "status": integration.status if integration else "missing"},
        )
    return integration


def handle(temporal: Client, workflow_id: str) -> WorkflowHandle[Any, Any]:
    return temporal.get_workflow_handle_for(DesignToListingWorkflow.run, workflow_id)
