"""The search attributes runs carry are registered where missing, and a namespace where
one has another type is refused, naming it (the workflow worker would otherwise fail
every workflow task that sets it)."""

from __future__ import annotations

import pytest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from core.embedded import temporal_binary
from services.search_attributes import SearchAttributesMissing, ensure_search_attributes
from workflows.contract import SEARCH_ATTRIBUTES


async def test_missing_attributes_are_registered_once() -> None:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_binary())
    try:
        added = await ensure_search_attributes(env.client)
        assert added == sorted(key.name for key in SEARCH_ATTRIBUTES)
        assert await ensure_search_attributes(env.client) == []
    finally:
        await env.shutdown()


async def test_an_attribute_of_another_type_is_refused() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=[SearchAttributeKey.for_text("Stage")],
    )
    try:
        with pytest.raises(SearchAttributesMissing, match=r"another type.*Stage"):
            await ensure_search_attributes(env.client)
    finally:
        await env.shutdown()
