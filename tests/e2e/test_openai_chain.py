"""End to end with OpenAI as ideation and image provider, against the OpenAI emulator.

The brief must come from the tool call, the artwork from the image endpoint, every
paid call must leave a cost line, and a brief with a blocked term, a trademark or a
moderation flag must never reach the image endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client, WorkflowFailureError

from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from integrations.local.brief_writer import write_brief
from models import repositories
from models.requests import DesignToListingRequest
from models.tables import Brief, CostLine
from sandbox.app import EmulatorConfig
from services.runs import handle, start_design_to_listing
from tests.conftest import ISOLATED_NAMESPACE
from tests.e2e.helpers import LISTING_PHOTOS, vendor_counts, vendor_gateway
from tests.stack import WorkerSet


@pytest.fixture
async def openai_stack(
    settings: Settings, database_url: str, emulator: ThreadedServer
) -> AsyncIterator[Client]:
    """Every queue served in-process with OpenAI providers, in a namespace of its own."""
    scoped = settings.model_copy(
        update={
            "temporal_namespace": ISOLATED_NAMESPACE,
            "ideation_provider": "openai",
            "image_provider": "openai",
            # Brief embeddings from OpenAI too (the default is the local model).
            "embedding_provider": "openai",
            "openai_base_url": f"{emulator.url}/openai/v1",
            "openai_image_model": "emulated-image-model",
        }
    )
    client = await Client.connect(settings.temporal_target, namespace=ISOLATED_NAMESPACE)
    async with WorkerSet(scoped, client, database_url):
        yield client


@pytest.fixture
def openai_calls(emulator: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url) as admin:
        admin.delete("/__admin/openai/calls")
        yield admin


async def run_keyword(
    client: Client, sessions: SessionFactory, settings: Settings, tenant: str, keyword: str
) -> tuple[str, WorkflowFailureError | None]:
    async with sessions() as session, vendor_gateway(sessions, settings) as vendors:
        run, _ = await start_design_to_listing(
            session=session,
            temporal=client,
            vendors=vendors,
            tenant_id=tenant,
            idempotency_key=f"openai-{uuid.uuid4()}",
            body=DesignToListingRequest(keyword=keyword),
        )
    try:
        await handle(client, run.workflow_id).result()
    except WorkflowFailureError as failure:
        return run.workflow_id, failure
    return run.workflow_id, None


async def test_openai_brief_and_artwork_become_one_listing_with_cost_lines(
    api: httpx.AsyncClient,
    openai_stack: Client,
    openai_calls: httpx.Client,
    sessions: SessionFactory,
    settings: Settings,
    tenant: str,
    emulator: ThreadedServer,
    emulator_config: EmulatorConfig,
) -> None:
    workflow_id, failure = await run_keyword(
        openai_stack, sessions, settings, tenant, "kayak fishing dad"
    )

    assert failure is None
    calls = openai_calls.get("/__admin/openai/calls").json()
    # One brief, one embedding, moderation before the screen stage and before the image.
    assert calls == {
        "chat.completions": 1,
        "embeddings": 1,
        "moderations": 2,
        "images.generations": 1,
    }
    [chat] = openai_calls.get(
        "/__admin/openai/requests", params={"endpoint": "chat.completions"}
    ).json()
    assert chat["tool_choice"]["function"]["name"] == "submit_design_brief"
    async with sessions() as session:
        run = await repositories.runs.get_run(session, tenant_id=tenant, workflow_id=workflow_id)
        brief = (await session.exec(select(Brief).where(Brief.workflow_id == workflow_id))).one()
        lines = await repositories.runs.list_cost_lines(
            session, tenant_id=tenant, workflow_id=workflow_id
        )
    assert run is not None and run.status == "completed"
    assert brief.data is not None
    # Not the local writer's brief: the copy came from the model's tool call.
    assert brief.data["title"] != write_brief("kayak fishing dad").title
    assert brief.embedding is not None and len(brief.embedding) == 384
    [image_request] = openai_calls.get(
        "/__admin/openai/requests", params={"endpoint": "images.generations"}
    ).json()
    assert image_request["prompt"] == brief.data["image_prompt"]
    assert image_request["model"] == "emulated-image-model"
    by_stage = {(line.stage, line.model): line for line in lines}
    assert set(by_stage) == {
        ("generate_brief", chat["model"]),
        ("generate_brief", "text-embedding-3-small"),
        ("generate_design", "emulated-image-model"),
    }
    image_line = by_stage[("generate_design", "emulated-image-model")]
    assert image_line.images == 1 and image_line.cost_micros > 0
    assert all(line.tenant_id == tenant and line.attempt == 1 for line in lines)
    shown = (await api.get(f"/v1/workflows/{workflow_id}")).json()["model_costs"]
    assert {(cost["stage"], cost["model"]) for cost in shown} == set(by_stage)
    assert sum(cost["cost_usd"] for cost in shown) == pytest.approx(
        sum(line.cost_micros for line in lines) / 1_000_000
    )
    assert run.result is not None
    counts = await vendor_counts(emulator.url, emulator_config, workflow_id, run.result["title"])
    assert counts == {"uploads": 1, "products": 1, "listings": 1, "listing_images": LISTING_PHOTOS}


@pytest.mark.parametrize(
    ("keyword", "category", "stage"),
    [
        # The brief is written (and paid for), then the moderation endpoint flags it.
        ("gore fest fan", "violence/graphic", "screen_brief"),
        # Refused by the local lists as a keyword: no model ever sees it.
        ("disney princess", "trademark", "generate_brief"),
        ("nazi hunter", "blocklist", "generate_brief"),
    ],
)
async def test_a_refused_brief_never_reaches_the_image_endpoint(
    openai_stack: Client,
    openai_calls: httpx.Client,
    sessions: SessionFactory,
    settings: Settings,
    tenant: str,
    keyword: str,
    category: str,
    stage: str,
) -> None:
    workflow_id, failure = await run_keyword(openai_stack, sessions, settings, tenant, keyword)

    assert failure is not None
    calls = openai_calls.get("/__admin/openai/calls").json()
    assert calls["images.generations"] == 0
    written = stage == "screen_brief"
    assert calls["moderations"] == calls["chat.completions"] == int(written)
    async with sessions() as session:
        run = await repositories.runs.get_run(session, tenant_id=tenant, workflow_id=workflow_id)
        lines = (
            await session.exec(select(CostLine).where(CostLine.workflow_id == workflow_id))
        ).all()
    assert run is not None and run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "UNSAFE_CONTENT"
    assert run.error["stage"] == stage
    assert category in run.error["details"]["categories"]
    # A brief written was paid for, and shows as such; a refused keyword cost nothing.
    assert {line.stage for line in lines} == ({"generate_brief"} if written else set())
