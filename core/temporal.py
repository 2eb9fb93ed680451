"""The one place a Temporal client is built."""

from __future__ import annotations

import hashlib

from temporalio.client import Client

from core.settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    """Connect to the configured Temporal frontend and namespace."""
    return await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)


# Workflow id prefixes by run kind (models.payloads.RunKind).
RUN_PREFIXES = {
    "design_to_listing": "dtl",
    "brief": "brf",
    "design": "dsn",
    "publish": "pub",
    "scrape": "scr",
    "campaign": "cmp",
}


def run_workflow_id(kind: str, tenant_id: str, request_key: str) -> str:
    """The workflow id of a request: kind, tenant and idempotency key, hashed."""
    digest = hashlib.sha256(f"{tenant_id}\x00{request_key}".encode()).hexdigest()[:24]
    return f"{RUN_PREFIXES[kind]}-{tenant_id}-{digest}"


def workflow_ui_url(settings: Settings, workflow_id: str) -> str:
    """Link to the run in the Temporal Web UI."""
    return (
        f"{settings.temporal_web_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{workflow_id}"
    )
