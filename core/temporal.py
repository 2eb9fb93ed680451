"""The one place a Temporal client is built."""

from __future__ import annotations

from temporalio.client import Client

from core.settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    """Connect to the configured Temporal frontend and namespace."""
    return await Client.connect(settings.temporal_target, namespace=settings.temporal_namespace)


def workflow_ui_url(settings: Settings, workflow_id: str) -> str:
    """Link to the run in the Temporal Web UI."""
    return (
        f"{settings.temporal_web_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{workflow_id}"
    )
