"""Image activities (`pod-image` queue): make the artwork, then the print-ready file.

The CPU-heavy work runs on a thread while the activity heartbeats, so a killed worker
is noticed within the heartbeat timeout and the attempt moves to another worker. At most
`POD_IMAGE_CPU_SLOTS` (one per core by default) such threads run at once per worker:
more only slowed each other until heartbeats were missed (issue 14), and storage I/O,
on the default thread pool, does not wait behind them.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from collections.abc import Callable

from PIL import Image
from temporalio import activity

from activities.heartbeat import heartbeating, on_thread
from activities.ideation import unsafe_content
from activities.providers import Providers, record_cost
from core.db import SessionFactory
from core.storage import ObjectStorage
from integrations.local.renderer import render_design
from integrations.openai_provider import OpenAIProvider, Usage
from integrations.printfile import make_preview, make_print_file, open_artwork
from models import repositories
from models.payloads import Artwork, GenerateDesignInput, MakePrintFileInput, PrintFile, Stage
from models.tables import Design
from workflows.contract import GENERATE_DESIGN, MAKE_PRINT_FILE

ARTWORK_SIZE = (3000, 3600)


def run_key(tenant_id: str, workflow_id: str, name: str) -> str:
    """Where a run's files live in object storage."""
    return f"tenants/{tenant_id}/runs/{workflow_id}/{name}"


class ImageActivities:
    """Artwork and print files; everything is stored before the activity returns."""

    def __init__(
        self,
        sessions: SessionFactory,
        storage: ObjectStorage,
        providers: Providers,
        *,
        provider_delay: float = 0.0,
        cpu_slots: int = 0,
    ) -> None:
        self._sessions = sessions
        self._storage = storage
        self._providers = providers
        self._cpu = asyncio.Semaphore(cpu_slots or os.cpu_count() or 1)
        # Simulates a slow image model (seconds) for demos and worker-failure tests.
        self._provider_delay = provider_delay

    async def _crunch[T](self, work: Callable[[], T], note: str) -> T:
        """CPU-bound `work` on a thread once a slot is free, heartbeating meanwhile."""

        async def in_a_slot() -> T:
            async with self._cpu:
                return await asyncio.to_thread(work)

        return await heartbeating(in_a_slot(), note)

    @activity.defn(name=GENERATE_DESIGN.name)
    async def generate_design(self, data: GenerateDesignInput) -> Artwork:
        """The run's artwork, made once: a retry finds it in storage and pays nothing."""
        key = run_key(data.tenant_id, data.workflow_id, "artwork.png")
        if self._storage.exists(key):
            stored = await asyncio.to_thread(self._storage.get, key)
            width, height = _png_size(stored)
            return Artwork(storage_key=key, width=width, height=height)
        if self._provider_delay:
            await on_thread(lambda: time.sleep(self._provider_delay), "waiting for provider")
        maker = self._providers.image_maker
        if maker is None:
            width, height = ARTWORK_SIZE
            png = await self._crunch(
                lambda: render_design(data.brief, width=width, height=height), "rendering"
            )
        else:
            png, width, height = await self._openai_artwork(maker, data)
        await asyncio.to_thread(self._storage.put, key, png, "image/png")
        return Artwork(storage_key=key, width=width, height=height)

    async def _openai_artwork(
        self, maker: OpenAIProvider, data: GenerateDesignInput
    ) -> tuple[bytes, int, int]:
        """Screen the exact text sent, then ask the image model (heartbeating meanwhile)."""
        brief = data.brief
        verdict = await heartbeating(
            self._providers.screen.check(
                {"slogan": brief.slogan, "image_prompt": brief.image_prompt}
            ),
            "screening the prompt",
        )
        if not verdict.safe:
            raise unsafe_content(verdict)
        usage = Usage()
        try:
            image = await heartbeating(
                maker.generate_image(brief.image_prompt, usage), "waiting for the image model"
            )
        finally:
            await record_cost(
                self._sessions,
                self._providers.prices,
                tenant_id=data.tenant_id,
                workflow_id=data.workflow_id,
                stage=Stage.DESIGN,
                kind="image",
                usage=usage,
            )
        return image.png, image.width, image.height

    @activity.defn(name=MAKE_PRINT_FILE.name)
    async def make_print_file(self, data: MakePrintFileInput) -> PrintFile:
        """Fit the artwork onto the print area's pixel canvas at the DPI, store, record."""
        async with self._sessions() as session:
            existing = await repositories.designs.get_design_for_workflow(
                session, tenant_id=data.tenant_id, workflow_id=data.workflow_id
            )
        if existing is not None:
            return repositories.designs.print_file_of(existing)
        stored = await asyncio.to_thread(self._storage.get, data.artwork.storage_key)
        # Decoded once for both files: py-spy had decoding at 5 % of the test suite's
        # busy samples, each artwork decoded twice.
        artwork = await self._crunch(lambda: open_artwork(stored), "reading artwork")
        area = data.print_area
        prepared = await self._crunch(
            lambda: make_print_file(artwork, width=area.width, height=area.height, dpi=data.dpi),
            "making print file",
        )
        preview = await self._crunch(lambda: make_preview(artwork), "making preview")
        print_key = run_key(data.tenant_id, data.workflow_id, f"print-{prepared.sha256[:12]}.png")
        preview_key = run_key(data.tenant_id, data.workflow_id, "preview.jpg")
        await asyncio.to_thread(self._storage.put, print_key, prepared.data, "image/png")
        await asyncio.to_thread(self._storage.put, preview_key, preview.data, "image/jpeg")
        async with self._sessions() as session:
            design = await repositories.designs.save_design(
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
            return repositories.designs.print_file_of(design)


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size
