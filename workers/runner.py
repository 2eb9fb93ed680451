"""Builds one worker per task queue with its activities bound to shared clients.

`pod worker --queue image` runs `run_worker(settings, "image")`; `pod up` starts one
such process per queue. Clients (HTTP pools, DB engine, storage) are made once per
process and closed when the worker stops.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from importlib import metadata
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

import domain
import models
import workflows
from activities.campaign import CampaignActivities
from activities.errors import DomainErrorInterceptor
from activities.etsy import EtsyActivities
from activities.heartbeat import HeartbeatInterceptor
from activities.ideation import IdeationActivities
from activities.image import ImageActivities
from activities.orders import OrderActivities
from activities.printify import PrintifyActivities, PublishWebhook
from activities.providers import build_providers
from activities.records import RecordsActivities
from activities.scrape import ScrapeActivities
from activities.trends import TrendActivities, TrendRecords
from core.db import make_engine, make_session_factory
from core.metrics import worker_runtime
from core.settings import Settings
from core.signed_urls import FileUrls
from core.storage import S3Storage, build_storage
from core.telemetry import configure_tracing
from core.temporal import connect_temporal
from domain.orders import EtsyFees
from integrations.embeddings import build_embedder, merge_threshold
from integrations.trends import build_trend_sources
from services.search_attributes import ensure_search_attributes
from services.vendors import VendorGateway
from workflows.campaign import CampaignWorkflow
from workflows.contract import QUEUES
from workflows.design_to_listing import DesignToListingWorkflow
from workflows.order_sync import OrderSyncWorkflow
from workflows.services import BriefWorkflow, DesignWorkflow, PublishDesignWorkflow
from workflows.trend_scrape import TrendScrapeWorkflow

logger = logging.getLogger(__name__)

WORKFLOWS: list[type] = [
    DesignToListingWorkflow,
    BriefWorkflow,
    DesignWorkflow,
    PublishDesignWorkflow,
    TrendScrapeWorkflow,
    CampaignWorkflow,
    OrderSyncWorkflow,
]


def activity_methods(instance: object) -> list[Callable[..., Any]]:
    """The bound `@activity.defn` methods of an activities object."""
    return [
        getattr(instance, name)
        for name in dir(instance)
        if not name.startswith("_")
        and hasattr(getattr(type(instance), name, None), "__temporal_activity_definition")
    ]


async def build_activities(
    settings: Settings, queue: str, database_url: str, stack: AsyncExitStack
) -> Sequence[Callable[..., Any]]:
    """The activities served on `queue`, their clients registered for closing on `stack`."""
    engine = make_engine(database_url)
    stack.push_async_callback(engine.dispose)
    sessions = make_session_factory(engine)
    if queue == "workflows":
        # The runs' bookkeeping, run as local activities by the workflows themselves.
        bookkeeping = RecordsActivities(sessions)
        return [bookkeeping.update_run, bookkeeping.meter_usage]
    if queue == "records":
        # Reads an Etsy shop's setup a scheduled campaign needs and no request read yet.
        vendors = VendorGateway(sessions, settings, settings.cipher)
        stack.push_async_callback(vendors.aclose)
        return [
            *activity_methods(RecordsActivities(sessions)),
            *activity_methods(TrendRecords(sessions)),
            *activity_methods(CampaignActivities(sessions, settings, vendors)),
        ]
    if queue == "scrape":
        sources = build_trend_sources(settings)
        stack.push_async_callback(sources.aclose)
        return activity_methods(ScrapeActivities(sources))
    if queue in ("ideation", "image"):
        providers = build_providers(settings)
        stack.push_async_callback(providers.aclose)
    if queue == "ideation":
        embedder = build_embedder(settings, providers.brief_writer)
        stack.push_async_callback(embedder.aclose)
        threshold = merge_threshold(settings, embedder)
        return [
            *activity_methods(IdeationActivities(sessions, providers, embedder)),
            *activity_methods(TrendActivities(sessions, embedder, threshold)),
        ]
    storage = build_storage(settings)
    if isinstance(storage, S3Storage):
        await asyncio.to_thread(storage.ensure_bucket)
    if queue == "image":
        image = ImageActivities(
            sessions,
            storage,
            providers,
            provider_delay=settings.image_provider_delay,
            cpu_slots=settings.image_cpu_slots,
        )
        return activity_methods(image)
    if queue == "integration":
        # Vendor rates hold across processes through Postgres (ADR 0013); their turns wait
        # there holding a connection, so they get a small pool of their own.
        pacing = make_engine(database_url, pool_size=2)
        stack.push_async_callback(pacing.dispose)
        clients = VendorGateway(
            sessions, settings, settings.cipher, pacing=make_session_factory(pacing)
        )
        stack.push_async_callback(clients.aclose)
        return [
            *activity_methods(
                PrintifyActivities(
                    sessions,
                    storage,
                    clients,
                    webhook=PublishWebhook.from_settings(settings),
                    file_urls=FileUrls.from_settings(storage, settings),
                )
            ),
            *activity_methods(EtsyActivities.from_settings(sessions, storage, clients, settings)),
            *activity_methods(
                OrderActivities(
                    sessions,
                    clients,
                    etsy_fees(settings),
                    min_age_hours=settings.listing_performance_min_age_hours,
                )
            ),
        ]
    raise ValueError(f"unknown queue {queue!r}; one of {', '.join(QUEUES)}")


def etsy_fees(settings: Settings) -> EtsyFees:
    """Etsy's fee rates on a sale, from the settings."""
    return EtsyFees(
        transaction_percent=settings.etsy_transaction_fee_percent,
        processing_percent=settings.etsy_processing_fee_percent,
        processing_fixed_cents=settings.etsy_processing_fee_cents,
        renewal_cents=settings.etsy_renewal_fee_cents,
    )


# What workflow code replays through: its own package, the payload types and pure rules.
_REPLAYED_SOURCES = (
    Path(workflows.__file__).parent,
    Path(models.__file__).parent / "payloads.py",
    Path(models.__file__).parent / "orders.py",
    Path(domain.__file__).parent,
)


@functools.cache
def build_id() -> str:
    """What every worker of this process reports as its build: the package version and
    a digest of the code workflows replay through (workers stay unversioned).

    Without it temporalio hashes the bytecode of every loaded module (over 1 300) at the
    first worker of a process: 1.6 s of CPU at each `pod worker` start, measured with
    `time.process_time()` around `load_default_build_id()` (ADR 0022).
    """
    digest = hashlib.sha256()
    for source in _REPLAYED_SOURCES:
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    try:
        version = metadata.version("pod-automator")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"{version}+{digest.hexdigest()[:12]}"


def build_worker(
    client: Client,
    queue: str,
    activities: Sequence[Callable[..., Any]],
    settings: Settings,
    **options: Any,
) -> Worker:
    """A worker for one queue: workflows (and their bookkeeping as local activities) on
    `pod-workflows`, activities elsewhere.

    The integration queue gets `INTEGRATION_ACTIVITIES_PER_SECOND` as its task-queue rate:
    the Temporal server enforces it across every worker of the queue (ADR 0013).
    """
    options.setdefault("build_id", build_id())
    own: list[Interceptor] = [DomainErrorInterceptor()]
    if queue == "integration":
        options.setdefault(
            "max_task_queue_activities_per_second", settings.integration_activities_per_second
        )
        own.append(HeartbeatInterceptor())  # vendor calls send no heartbeats of their own
    options["interceptors"] = [*own, *options.get("interceptors", ())]
    return Worker(
        client,
        task_queue=QUEUES[queue],
        workflows=WORKFLOWS if queue == "workflows" else [],
        activities=activities,  # on `pod-workflows`, the local activities
        **options,
    )


async def run_worker(settings: Settings, queue: str, database_url: str) -> None:
    """Serve one queue until cancelled (Ctrl-C / SIGTERM)."""
    configure_tracing(settings, f"worker-{queue}")
    runtime = worker_runtime(settings.worker_metrics_host, settings.worker_metrics_port)
    if runtime is not None:  # its meter also counts the activities' vendor calls
        logger.info(
            "worker metrics on http://%s:%d/metrics",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
        )
    async with AsyncExitStack() as stack:
        activities = await build_activities(settings, queue, database_url, stack)
        client = await connect_temporal(settings, runtime)
        if queue == "workflows":
            # Runs set them as they move: an unknown one would fail every workflow task.
            await ensure_search_attributes(client)
        worker = build_worker(client, queue, activities, settings)
        logger.info("worker for %s started", QUEUES[queue])
        try:
            await worker.run()
        except asyncio.CancelledError:
            logger.info("worker for %s stopping", QUEUES[queue])
