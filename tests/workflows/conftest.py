"""One time-skipping test server for every workflow test of the session."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from services.search_attributes import add_search_attributes
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
        await add_search_attributes(env.client, SEARCH_ATTRIBUTES)
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
