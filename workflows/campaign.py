"""CampaignWorkflow: the tenant's top K fresh trend signals, each turned into a listing
by a `DesignToListingWorkflow` child, at most `concurrency` at a time.

A signal is skipped, with the reason reported, when a brief of the tenant already covers
its niche (pgvector + the niche rule of ADR 0017), when it already has a run (so re-running
a campaign never makes a second listing), or when the plan's quota is used up. Every
outcome is recorded as it changes, so `GET /v1/campaigns/{id}` follows it live.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import (
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    CancelledError,
    ChildWorkflowError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models.payloads import DesignToListingResult, RunKind, RunStatus, Stage
    from models.trends import (
        CampaignInput,
        CampaignOutcome,
        CampaignResult,
        OutcomeStatus,
        PrepareListingRunInput,
        RecordCampaignInput,
    )
    from workflows.contract import (
        PLAN_CAMPAIGN,
        PREPARE_LISTING_RUN,
        RECORD_CAMPAIGN,
        WORKFLOW_QUEUE,
        call,
        run_attributes,
        run_summary,
        tenant_attributes,
    )
    from workflows.failures import failure_text

# A listing run may wait a day for approval; the campaign waits for all of them.
CHILD_TIMEOUT = timedelta(days=3)
# Histories from before it cancelled their running children when they were cancelled.
CHILDREN_OUTLIVE_CANCELLATION = "campaign-children-outlive-cancellation"
# Histories from before it recorded a run as running before starting it, so a cancel that
# came in between left a "running" outcome with no run, or cancelled the run's start.
STARTED_THEN_RECORDED = "campaign-child-started-then-recorded"
# Histories from before a listing run was started with its keyword, stage, status and
# summary for the Web UI (issue 17).
SEARCHABLE_CHILDREN = "campaign-children-searchable"


@workflow.defn
class CampaignWorkflow:
    """Turn the top signals into listings, with a concurrency cap and one outcome each."""

    def __init__(self) -> None:
        self._outcomes: list[CampaignOutcome] = []
        self._status = "running"

    @workflow.query
    def state(self) -> CampaignResult:
        return CampaignResult(
            campaign_id=workflow.info().workflow_id,
            status=self._status,
            outcomes=self._outcomes,
            listings=sum(1 for o in self._outcomes if o.status == OutcomeStatus.COMPLETED),
        )

    @workflow.run
    async def run(self, request: CampaignInput) -> CampaignResult:
        try:
            await self._campaign(request)
        except asyncio.CancelledError:
            await self._end(request, "cancelled", "the campaign was cancelled")
            raise
        except FailureError as exc:  # its record says how it ended, then the run fails
            await self._end(request, "failed", failure_text(exc))
            raise
        self._status = "completed"
        await self._record(request)
        return self.state()

    async def _campaign(self, request: CampaignInput) -> None:
        plan = await call(PLAN_CAMPAIGN, request)
        self._outcomes = plan.outcomes
        await self._record(request)
        cap = asyncio.Semaphore(max(1, request.options.concurrency))
        await asyncio.gather(
            *(
                self._list(request, outcome, cap)
                for outcome in self._outcomes
                if outcome.status == OutcomeStatus.PENDING
            )
        )

    async def _end(self, request: CampaignInput, status: str, why: str) -> None:
        """Record a campaign that ended early: signals not started are skipped with the
        reason; listing runs under way go on on their own (ABANDON) and keep their ids."""
        self._status = status
        for outcome in self._outcomes:
            if outcome.status == OutcomeStatus.PENDING:
                outcome.status = OutcomeStatus.SKIPPED
                outcome.reason = f"not started: {why}"
        await self._record(request)

    @staticmethod
    def _listed_as(tenant_id: str, keyword: str) -> dict[str, Any]:
        """How a listing run shows in the Web UI: its tenant, and since issue 17 its
        keyword, stage, status and summary too."""
        if not workflow.patched(SEARCHABLE_CHILDREN):
            return {"search_attributes": tenant_attributes(tenant_id)}
        return {
            "search_attributes": run_attributes(
                tenant_id, keyword, stage=Stage.QUEUED, status=RunStatus.RUNNING
            ),
            "static_summary": run_summary(RunKind.DESIGN_TO_LISTING, keyword, tenant_id),
        }

    async def _list(
        self, request: CampaignInput, outcome: CampaignOutcome, cap: asyncio.Semaphore
    ) -> None:
        async with cap:
            prepared = await call(
                PREPARE_LISTING_RUN,
                PrepareListingRunInput(
                    tenant_id=request.tenant_id,
                    campaign_id=request.campaign_id,
                    signal_id=outcome.signal_id,
                    keyword=outcome.keyword,
                    template_id=request.options.template_id,
                    require_approval=request.options.require_approval,
                ),
            )
            outcome.workflow_id = prepared.workflow_id or None
            if prepared.input is None:
                outcome.status = OutcomeStatus.SKIPPED
                outcome.reason = prepared.skipped_reason
                await self._record(request)
                return
            outcome.status = OutcomeStatus.RUNNING
            # Once a run is said to be running it is started, whatever the campaign gets
            # meanwhile: the start is shielded from the campaign's cancellation, and the
            # outcome is recorded when the run exists.
            started_first = workflow.patched(STARTED_THEN_RECORDED)
            if not started_first:
                await self._record(request)
            try:
                # By name, with the recorded input's JSON: the child decodes it itself.
                starting = workflow.start_child_workflow(
                    "DesignToListingWorkflow",
                    prepared.input,
                    result_type=DesignToListingResult,
                    id=prepared.workflow_id,
                    task_queue=WORKFLOW_QUEUE,
                    # A listing half-made is finished (or compensated) by its own run.
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    # A signal's run happens once: a finished one is never started again.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    execution_timeout=CHILD_TIMEOUT,
                    **self._listed_as(request.tenant_id, outcome.keyword),
                )
                child = await (asyncio.shield(starting) if started_first else starting)
                if started_first:
                    await self._record(request)
                # ABANDON covers the campaign's close only: cancelling this wait would also
                # ask the child to cancel. Shielded, a cancelled campaign leaves it running.
                shielded = workflow.patched(CHILDREN_OUTLIVE_CANCELLATION)
                result = await (asyncio.shield(child) if shielded else child)
            except ChildWorkflowError as exc:
                if isinstance(exc.cause, CancelledError):  # the seller's cancel: no listing
                    outcome.status = OutcomeStatus.SKIPPED
                    outcome.reason = "its run was cancelled"
                else:
                    outcome.status = OutcomeStatus.FAILED
                    outcome.reason = failure_text(exc)
            except WorkflowAlreadyStartedError:
                outcome.status = OutcomeStatus.SKIPPED
                outcome.reason = "a run for this signal is already under way"
            else:
                if result.status == RunStatus.REJECTED:  # the seller's decision: no listing
                    outcome.status = OutcomeStatus.SKIPPED
                    outcome.reason = "its brief was rejected"
                else:
                    outcome.status = OutcomeStatus.COMPLETED
                    outcome.listing_url = result.listing_url
                    outcome.etsy_listing_id = result.etsy_listing_id
            await self._record(request)

    async def _record(self, request: CampaignInput) -> None:
        await call(
            RECORD_CAMPAIGN,
            RecordCampaignInput(
                request.tenant_id, request.campaign_id, self._status, self._outcomes
            ),
        )
