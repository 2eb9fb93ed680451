"""One time-skipping test server for every workflow test of the session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from workflows.contract import SEARCH_ATTRIBUTES


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: timers and retry backoff pass at once. It
    knows the runs' search attributes, as the dev server does: without them, a child
    workflow started with one (a scrape's campaign, a campaign's listing runs) never
    starts there, and a run that sets its stage fails its workflow task."""
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server))
    try:
        # The test server cannot list search attributes, only add them.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                    for key in SEARCH_ATTRIBUTES
                },
            )
        )
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The session's time-skipping server. A test must leave no run open on it: an open
    run's pending work stops time skipping for the tests after it."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def own_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own, for a test that cancels a run while an
    activity runs: the test server keeps such an activity pending after its run closed."""
    async with time_skipping_server() as env:
        yield env
