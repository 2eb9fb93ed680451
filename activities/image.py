"""Image activities (`pod-image` queue): make the artwork, then the print-ready file.

The CPU-heavy work runs on a thread while the activity heartbeats, so a killed worker
is noticed within the heartbeat timeout and the attempt moves to another worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from temporalio import activity

from core.db import SessionFactory
from core.storage import ObjectStorage
from integrations.local.renderer import render_design
from integrations.printfile import make_preview, make_print_file
from models import repositories
from models.payloads import Artwork, GenerateDesignInput, MakePrintFileInput, PrintFile
from models.tables import Design

HEARTBEAT_EVERY = 2.0
ARTWORK_SIZE = (3000, 3600)


def run_key(tenant_id: str, workflow_id: str, name: str) -> str:
    """Where a run's files live in object storage."""
    return f"tenants/{tenant_id}/runs/{workflow_id}/{name}"


async def _heartbeating[T](work: Callable[[], T], note: str) -> T:
    """Run `work` on a thread, heartbeating until it returns."""
    task = asyncio.ensure_future(asyncio.to_thread(work))
    while True:
        activity.heartbeat(note)
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
        if done:
            return task.result()


class ImageActivities:
    """Artwork and print files; everything is stored before the activity returns."""

    def __init__(
        self, sessions: SessionFactory, storage: ObjectStorage, *, provider_delay: float = 0.0
    ) -> None:
        self._sessions = sessions
        self._storage = storage
        # Simulates a slow image model (seconds) for demos and worker-failure tests.
        self._provider_delay = provider_delay

    @activity.defn(name="image.generate_design")
    async def generate_design(self, data: GenerateDesignInput) -> Artwork:
        key = run_key(data.tenant_id, data.workflow_id, "artwork.png")
        width, height = ARTWORK_SIZE
        if not self._storage.exists(key):
            if self._provider_delay:
                await _heartbeating(
                    lambda: time.sleep(self._provider_delay), "waiting for provider"
                )
            png = await _heartbeating(
                lambda: render_design(data.brief, width=width, height=height), "rendering"
            )
            await asyncio.to_thread(self._storage.put, key, png, "image/png")
        return Artwork(storage_key=key, width=width, height=height)

    @activity.defn(name="image.make_print_file")
    async def make_print_file(self, data: MakePrintFileInput) -> PrintFile:
        """Fit the artwork onto the print area's pixel canvas at the DPI, store, record."""
        async with self._sessions() as session:
            existing = await repositories.get_design_for_workflow(
                session, tenant_id=data.tenant_id, workflow_id=data.workflow_id
            )
        if existing is not None:
            return _print_file(existing)
        artwork = await asyncio.to_thread(self._storage.get, data.artwork.storage_key)
        area = data.print_area
        prepared = await _heartbeating(
            lambda: make_print_file(artwork, width=area.width, height=area.height, dpi=data.dpi),
            "making print file",
        )
        preview = await _heartbeating(lambda: make_preview(artwork), "making preview")
        print_key = run_key(data.tenant_id, data.workflow_id, f"print-{prepared.sha256[:12]}.png")
        preview_key = run_key(data.tenant_id, data.workflow_id, "preview.jpg")
        await asyncio.to_thread(self._storage.put, print_key, prepared.data, "image/png")
        await asyncio.to_thread(self._storage.put, preview_key, preview.data, "image/jpeg")
        async with self._sessions() as session:
            design = await repositories.save_design(
                session,
                tenant_id=data.tenant_id,
                design=Design(
                    tenant_id=data.tenant_id,
                    workflow_id=data.workflow_id,
                    brief_id=uuid.UUID(data.brief_id),
                    storage_key=print_key,
                    preview_key=preview_key,
                    sha256=prepared.sha256,
                    width=prepared.width,
                    height=prepared.height,
                    dpi=prepared.dpi,
                    size_bytes=len(prepared.data),
                ),
            )
            await session.commit()
            return _print_file(design)


def _print_file(design: Design) -> PrintFile:
    return PrintFile(
        design_id=str(design.id),
        storage_key=design.storage_key,
        preview_key=design.preview_key,
        sha256=design.sha256,
        width=design.width,
        height=design.height,
        dpi=design.dpi,
        size_bytes=design.size_bytes,
    )
