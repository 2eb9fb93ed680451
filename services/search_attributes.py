"""The search attributes runs carry (`workflows.contract.SEARCH_ATTRIBUTES`), registered
in the namespace when missing: by `pod search-attributes`, by the workflow worker at its
start, and by the dev server's own flags on the embedded stack (ADR 0033).

A workflow that sets an attribute the namespace does not know fails its workflow task
again and again; the worker checks first and refuses to start when it cannot register
them (Temporal Cloud, for one, registers them only through its own tools)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

from workflows.contract import SEARCH_ATTRIBUTES

logger = logging.getLogger(__name__)


class SearchAttributesMissing(RuntimeError):
    """The namespace lacks attributes runs set, and they could not be registered."""


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register the attributes the namespace lacks; the names registered now."""
    known = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    present = {**known.system_attributes, **known.custom_attributes}
    missing = [key for key in SEARCH_ATTRIBUTES if key.name not in present]
    wrong = sorted(
        key.name
        for key in SEARCH_ATTRIBUTES
        if key.name in known.custom_attributes
        and SearchAttributeIndexedValueType(known.custom_attributes[key.name])
        != key.indexed_value_type
    )
    if wrong:
        raise SearchAttributesMissing(
            f"search attributes of another type in namespace {client.namespace}: "
            + ", ".join(wrong)
        )
    if not missing:
        return []
    names = ", ".join(sorted(key.name for key in missing))
    try:
        await add_search_attributes(client, missing)
    except Exception as exc:  # RPCError and the like: say what to register by hand
        raise SearchAttributesMissing(
            f"namespace {client.namespace} lacks search attributes {names} and they could not"
            f" be registered ({exc}); register them (README, Temporal's search attributes)"
        ) from exc
    logger.info("registered search attributes %s", names)
    return sorted(key.name for key in missing)


async def add_search_attributes(client: Client, keys: Sequence[SearchAttributeKey[Any]]) -> None:
    """Register `keys` in the client's namespace, each with its type (no check first:
    Temporal's time-skipping test server cannot list them)."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in keys
            },
        )
    )
