"""A model that never writes a usable brief costs a bounded number of chat calls: the
ideation activity against the OpenAI emulator, attempt by attempt as Temporal runs it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.ideation import BRIEF_ATTEMPTS, IdeationActivities
from activities.providers import PriceCard, Providers, build_local_screen
from core.db import SessionFactory
from core.http_server import ThreadedServer
from core.settings import Settings
from domain.errors import DomainError
from integrations.embeddings import LocalE5Embedder
from integrations.openai_provider import BRIEF_ANSWERS, OpenAIConfig, OpenAIProvider, build_client
from models.payloads import GenerateBriefInput
from sandbox.openai import ALWAYS_INVALID_MARKER


@pytest.fixture
async def ideation(
    emulator: ThreadedServer, sessions: SessionFactory, settings: Settings
) -> AsyncIterator[IdeationActivities]:
    client = build_client(
        api_key="local-openai-key", base_url=f"{emulator.url}/openai/v1", timeout=30
    )
    provider = OpenAIProvider(client, OpenAIConfig(chat_model="test-chat", image_model="img"))
    providers = Providers(
        screen=build_local_screen(settings),
        prices=PriceCard(0.0, 0.0, 0.0, 0.0, 0.0),
        openai=provider,
        openai_briefs=True,
    )
    yield IdeationActivities(sessions, providers, LocalE5Embedder())
    await provider.aclose()


async def test_a_model_that_keeps_breaking_the_rules_fails_the_run_after_two_attempts(
    ideation: IdeationActivities, tenant: str, emulator: ThreadedServer
) -> None:
    data = GenerateBriefInput(
        tenant_id=tenant, workflow_id="dtl-attempts", keyword=f"camping {ALWAYS_INVALID_MARKER}"
    )
    with httpx.Client(base_url=emulator.url) as admin:
        admin.delete("/__admin/openai/calls")
        codes = []
        for attempt in range(1, BRIEF_ATTEMPTS + 1):
            env = ActivityEnvironment()
            env.info = dataclasses.replace(env.info, attempt=attempt)
            with pytest.raises(DomainError) as raised:
                await env.run(ideation.generate_brief, data)
            codes.append((raised.value.code, raised.value.retryable))
        chat_calls = admin.get("/__admin/openai/calls").json().get("chat.completions", 0)
    assert codes == [("OPENAI_INVALID_BRIEF", True), ("OPENAI_BRIEF_UNUSABLE", False)]
    assert chat_calls == BRIEF_ATTEMPTS * BRIEF_ANSWERS == 6
