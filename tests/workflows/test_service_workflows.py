"""The three service runs (ADR 0016) alone on the time-skipping server, with the chain's
same-named fakes: each runs its own stages and no other, and refuses a request that
lacks what an earlier run made.

The three over the real workers, Postgres and emulators are `tests/e2e/test_service_runs.py`.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from integrations.local.brief_writer import write_brief
from models.payloads import DesignToListingInput, PrintFile
from tests.workflows.serving import serving
from tests.workflows.test_design_to_listing_workflow import CHAIN, Fakes, request
from workflows.contract import QUEUES
from workflows.services import BriefWorkflow, DesignWorkflow, PublishDesignWorkflow

# The chain's stages, split where the three services split it.
IDEATION, DESIGN, PUBLISH = CHAIN[:2], CHAIN[2:5], CHAIN[5:]
BRIEF = write_brief("axolotl mom")
PRINT_FILE = PrintFile("design-1", "print.png", "preview.jpg", "ab" * 32, 4500, 5400, 300, 9)


async def run(client: Client, fakes: Fakes, workflow: Any, data: DesignToListingInput) -> Any:
    workflows = [BriefWorkflow, DesignWorkflow, PublishDesignWorkflow]
    async with serving(client, workflows, fakes.by_queue()):
        return await client.execute_workflow(
            workflow.run, data, id=f"svc-{uuid.uuid4()}", task_queue=QUEUES["workflows"]
        )


async def test_a_brief_run_writes_and_screens_a_brief_and_nothing_more(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()
    result = await run(skipping_env.client, fakes, BriefWorkflow, request())

    assert result.status == "completed" and result.brief_id and result.title
    assert (result.design_id, result.print_file) == ("", "")
    assert fakes.calls == IDEATION
    assert fakes.metered == ["briefs"]
    assert fakes.updates[-1].status == "completed"
    assert fakes.updates[-1].result == {
        "workflow_id": result.workflow_id,
        "status": "completed",
        "brief_id": result.brief_id,
        "title": result.title,
        "design_id": "",
        "print_file": "",
        "sha256": "",
    }


async def test_a_design_run_makes_the_print_file_of_its_brief(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()
    data = request(brief_id="brief-1", brief=BRIEF)
    result = await run(skipping_env.client, fakes, DesignWorkflow, data)

    assert (result.status, result.brief_id, result.title) == ("completed", "brief-1", BRIEF.title)
    assert result.design_id and result.print_file == "print.png"
    assert fakes.calls == DESIGN
    assert fakes.metered == ["images"]


async def test_a_publish_run_lists_its_design_and_makes_nothing_else(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()
    data = request(brief_id="brief-1", brief=BRIEF, print_file=PRINT_FILE)
    result = await run(skipping_env.client, fakes, PublishDesignWorkflow, data)

    assert result.status == "completed" and result.etsy_listing_id == 77
    assert (result.design_id, result.brief_id) == ("design-1", "brief-1")
    assert fakes.calls == PUBLISH
    assert fakes.metered == ["products", "listings"]


@pytest.mark.parametrize(
    ("workflow", "data"),
    [
        (DesignWorkflow, request()),
        (PublishDesignWorkflow, request(brief_id="brief-1", brief=BRIEF)),
    ],
    ids=["design without a brief", "publish without a design"],
)
async def test_a_run_without_what_an_earlier_run_made_is_refused(
    skipping_env: WorkflowEnvironment, workflow: Any, data: DesignToListingInput
) -> None:
    fakes = Fakes()
    with pytest.raises(WorkflowFailureError) as failure:
        await run(skipping_env.client, fakes, workflow, data)

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "INVALID_INPUT"
    assert fakes.calls == [] and fakes.metered == []
    assert fakes.updates[-1].status == "failed"
