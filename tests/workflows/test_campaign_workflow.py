"""CampaignWorkflow alone on the time-skipping server: same-named fakes for its records
activities and for the design-to-listing chain of each child run.

The campaign over the real workers, Postgres and emulators is `tests/e2e/test_trends.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from copy import deepcopy
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment

from models.payloads import BriefResult, DesignToListingInput, GenerateBriefInput
from models.trends import (
    CampaignInput,
    CampaignOptions,
    CampaignOutcome,
    CampaignPlan,
    CampaignResult,
    OutcomeStatus,
    PreparedListingRun,
    PrepareListingRunInput,
    RecordCampaignInput,
)
from tests.workflows.serving import merged, serving
from tests.workflows.test_design_to_listing_workflow import Fakes
from workflows.campaign import CampaignWorkflow
from workflows.contract import QUEUES
from workflows.design_to_listing import DesignToListingWorkflow


def pending(count: int) -> list[CampaignOutcome]:
    """`count` fresh signals of a plan, best first."""
    return [
        CampaignOutcome(
            signal_id=str(uuid.uuid4()),
            keyword=f"otter hobby {n}",
            score=1.0 - n / 10,
            status=OutcomeStatus.PENDING,
        )
        for n in range(count)
    ]


@dataclass
class CampaignFakes:
    """The records side of a campaign, and the chain its listing runs go through.

    `skip` maps a signal to the reason `prepare_listing_run` refuses it; with a `gate`,
    every listing run's brief waits until it is set; `records` keeps each recording."""

    plan: list[CampaignOutcome]
    skip: dict[str, str] = field(default_factory=dict)
    gate: asyncio.Event | None = None
    chain: Fakes = field(default_factory=Fakes)
    records: list[RecordCampaignInput] = field(default_factory=list)
    briefs_asked: asyncio.Event = field(default_factory=asyncio.Event)

    def by_queue(self) -> dict[str, list[Callable[..., Any]]]:
        @activity.defn(name="campaign.plan")
        async def plan(request: CampaignInput) -> CampaignPlan:
            return CampaignPlan(outcomes=deepcopy(self.plan))

        @activity.defn(name="campaign.prepare_listing_run")
        async def prepare(data: PrepareListingRunInput) -> PreparedListingRun:
            workflow_id = f"dtl-{data.tenant_id}-{data.signal_id}"
            if data.signal_id in self.skip:
                return PreparedListingRun(
                    workflow_id=workflow_id,
                    status="completed",
                    skipped_reason=self.skip[data.signal_id],
                )
            run = DesignToListingInput(
                tenant_id=data.tenant_id,
                request_key=f"campaign/trend/{data.signal_id}",
                keyword=data.keyword,
                printify_integration_id="pfy-1",
                etsy_integration_id="etsy-1",
                trend_signal_id=data.signal_id,
            )
            return PreparedListingRun(
                workflow_id=workflow_id, created=True, status="running", input=asdict(run)
            )

        @activity.defn(name="campaign.record")
        async def record(data: RecordCampaignInput) -> None:
            self.records.append(deepcopy(data))

        chain = self.chain.by_queue()
        brief = next(fn for fn in chain["ideation"] if fn.__name__ == "generate_brief")

        @activity.defn(name="ideation.generate_brief")
        async def gated_brief(data: GenerateBriefInput) -> BriefResult:
            self.briefs_asked.set()
            while self.gate is not None and not self.gate.is_set():
                activity.heartbeat()  # so a cancellation reaches it, as with the real one
                await asyncio.sleep(0.05)
            return await brief(data)

        chain["ideation"] = [gated_brief if fn is brief else fn for fn in chain["ideation"]]
        return merged({"records": [plan, prepare, record]}, chain)

    def most_running_at_once(self) -> int:
        return max(
            sum(outcome.status == OutcomeStatus.RUNNING for outcome in recorded.outcomes)
            for recorded in self.records
        )


def campaign_input(**options: Any) -> CampaignInput:
    campaign_id = f"cmp-t1-{uuid.uuid4().hex[:12]}"
    return CampaignInput("t1", campaign_id, f"key-{campaign_id}", CampaignOptions(**options))


async def start(client: Client, request: CampaignInput) -> Any:
    return await client.start_workflow(
        CampaignWorkflow.run, request, id=request.campaign_id, task_queue=QUEUES["workflows"]
    )


async def run_campaign(client: Client, fakes: CampaignFakes, request: CampaignInput) -> Any:
    async with serving(client, [CampaignWorkflow, DesignToListingWorkflow], fakes.by_queue()):
        return await (await start(client, request)).result()


async def test_each_listable_signal_gets_one_listing_run_at_most_concurrency_at_a_time(
    skipping_env: WorkflowEnvironment,
) -> None:
    plan = pending(5)
    planned_skip = CampaignOutcome(
        str(uuid.uuid4()), "otter pun", 0.2, OutcomeStatus.SKIPPED, reason="same niche as x"
    )
    already = "this signal already has a listing run (completed): dtl-t1-earlier"
    fakes = CampaignFakes(plan=[*plan, planned_skip], skip={plan[4].signal_id: already})

    result: CampaignResult = await run_campaign(
        skipping_env.client, fakes, campaign_input(top_k=6, concurrency=2)
    )

    assert result.status == "completed"
    assert [o.status for o in result.outcomes] == ["completed"] * 4 + ["skipped"] * 2
    for outcome in result.outcomes[:4]:
        assert outcome.workflow_id == f"dtl-t1-{outcome.signal_id}"
        assert (outcome.etsy_listing_id, outcome.listing_url) == (
            77,
            "https://etsy.test/listing/77",
        )
    assert [o.reason for o in result.outcomes[4:]] == [already, "same niche as x"]
    assert result.listings == 4
    assert fakes.chain.calls.count("records.record_listing") == 4  # one listing each
    # Two listing runs at a time, never more; every change recorded, the end last.
    assert fakes.most_running_at_once() == 2
    assert fakes.records[0].outcomes == fakes.plan
    assert (fakes.records[-1].status, fakes.records[-1].outcomes) == ("completed", result.outcomes)


async def test_a_failed_listing_run_is_reported_and_the_campaign_completes(
    skipping_env: WorkflowEnvironment,
) -> None:
    refused = ApplicationError("title refused", type="ETSY_VALIDATION", non_retryable=True)
    fakes = CampaignFakes(
        plan=pending(2), chain=Fakes(fail_on={"etsy.create_draft_listing": refused})
    )

    result: CampaignResult = await run_campaign(
        skipping_env.client, fakes, campaign_input(top_k=2, concurrency=2)
    )

    assert result.status == "completed" and result.listings == 0
    assert [o.status for o in result.outcomes] == ["failed", "failed"]
    assert all("ETSY_VALIDATION" in (o.reason or "") for o in result.outcomes), result.outcomes
    assert fakes.records[-1].status == "completed"


async def test_a_listing_run_the_seller_cancels_is_skipped_not_failed(
    skipping_env: WorkflowEnvironment,
) -> None:
    plan = pending(1)
    fakes = CampaignFakes(plan=plan, gate=asyncio.Event())
    client = skipping_env.client
    async with serving(client, [CampaignWorkflow, DesignToListingWorkflow], fakes.by_queue()):
        handle = await start(client, campaign_input(top_k=1, concurrency=1))
        await asyncio.wait_for(fakes.briefs_asked.wait(), timeout=30)  # the run is under way
        await client.get_workflow_handle(f"dtl-t1-{plan[0].signal_id}").cancel()
        fakes.gate.set()  # type: ignore[union-attr]
        result: CampaignResult = await handle.result()
    assert result.status == "completed" and result.listings == 0
    [outcome] = result.outcomes
    assert (outcome.status, outcome.reason) == ("skipped", "its run was cancelled")


async def test_a_cancelled_campaign_says_so_and_skips_what_it_had_not_started(
    own_skipping_env: WorkflowEnvironment,
) -> None:
    fakes = CampaignFakes(plan=pending(6), gate=asyncio.Event())
    client = own_skipping_env.client
    async with serving(client, [CampaignWorkflow, DesignToListingWorkflow], fakes.by_queue()):
        handle = await start(client, campaign_input(top_k=6, concurrency=1))
        await asyncio.wait_for(fakes.briefs_asked.wait(), timeout=30)  # one run under way
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        last = fakes.records[-1]
        running = [o for o in last.outcomes if o.status == OutcomeStatus.RUNNING]
        assert len(running) == 1 and running[0].workflow_id  # the run under way keeps its id
        # ... and goes on on its own (ABANDON): let its brief through and it lists.
        child = client.get_workflow_handle_for(DesignToListingWorkflow.run, running[0].workflow_id)
        assert (await child.describe()).status == WorkflowExecutionStatus.RUNNING
        fakes.gate.set()  # type: ignore[union-attr]
        assert (await child.result()).etsy_listing_id == 77

    assert isinstance(failure.value.cause, CancelledError)
    assert last.status == "cancelled"
    skipped = [o for o in last.outcomes if o.status == OutcomeStatus.SKIPPED]
    assert len(skipped) == 5
    assert all((o.reason or "").startswith("not started:") for o in skipped), skipped
    assert not [o for o in last.outcomes if o.status == OutcomeStatus.PENDING]
