"""The workflow alone, on the time-skipping test server, with same-named fake activities.

Timers (the approval timeout) pass instantly; fakes record what was called so each
test can show which stages ran and which compensation happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from integrations.ip_screen import IpMatcher, load_protected_names
from integrations.local.brief_writer import write_brief
from integrations.safety import ContentScreen, ProfanityScreen, brief_fields, load_terms
from models.payloads import (
    Artwork,
    BriefResult,
    ChannelListing,
    ChannelState,
    CreateDraftListingInput,
    CreateProductInput,
    DesignToListingInput,
    DesignToListingResult,
    EnsureWebhookInput,
    GenerateBriefInput,
    GenerateDesignInput,
    ListingImageRef,
    ListingImages,
    ListingOffer,
    ListingRef,
    MakePrintFileInput,
    MeterInput,
    Mockup,
    OfferVariant,
    PrintArea,
    PrintAreaInput,
    PrintFile,
    ProductRef,
    PublishingFailedInput,
    PublishingSucceededInput,
    PublishWatch,
    RecordListingInput,
    RejectSignal,
    RunUpdate,
    ScreenBriefInput,
    ScreenResult,
    SetListingInventoryInput,
    ShopsInput,
    UploadedImage,
    UploadImageInput,
    UploadListingImageInput,
    UploadListingImagesInput,
)
from tests.workflows.serving import bookkeeping
from workers.runner import build_id
from workflows.contract import QUEUES
from workflows.design_to_listing import DesignToListingWorkflow

# Every stage a whole run calls, in order (what the fakes record; metering and run
# updates aside).
CHAIN = [
    "ideation.generate_brief",
    "ideation.screen_brief",
    "image.generate_design",
    "printify.get_print_area",
    "image.make_print_file",
    "printify.upload_image",
    "printify.create_product",
    "printify.publish",
    "etsy.create_draft_listing",
    "printify.listing_offer",
    "etsy.set_listing_inventory",
    "etsy.upload_listing_images",
    "etsy.activate_listing",
    "printify.publishing_succeeded",
    "records.record_listing",
]


@dataclass
class Fakes:
    """Same-named stand-ins for every activity; `calls` lists activity names in order."""

    keyword_override: str | None = None
    fail_on: dict[str, ApplicationError] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    updates: list[RunUpdate] = field(default_factory=list)
    metered: list[str] = field(default_factory=list)
    # What `ensure_webhook` answers; `check_publish_started` answers False this many
    # times first (None: never True). `polls` counts its calls.
    publish_watch: PublishWatch = field(default_factory=PublishWatch)
    polls_before_started: int | None = 0
    polls: int = 0
    left_out: list[int] = field(default_factory=list)  # variants out of stock
    inventories: list[SetListingInventoryInput] = field(default_factory=list)
    # Printify's Etsy channel: "publishing" this many checks, then listed (or failed).
    channel_publishing_checks: int = 2
    channel_fails: bool = False
    channel_checks: int = 0
    # An activity that waits, once entered, until the test releases it.
    hold_in: str | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def _hit(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail_on:
            raise self.fail_on[name]

    async def _held(self, name: str) -> None:
        self._hit(name)
        if name == self.hold_in:
            self.entered.set()
            await self.release.wait()

    def by_queue(self) -> dict[str, list[Callable[..., Any]]]:
        @activity.defn(name="ideation.generate_brief")
        async def generate_brief(data: GenerateBriefInput) -> BriefResult:
            self._hit("ideation.generate_brief")
            return BriefResult(
                str(uuid.uuid4()), write_brief(self.keyword_override or data.keyword)
            )

        @activity.defn(name="ideation.screen_brief")
        async def screen(data: ScreenBriefInput) -> ScreenResult:
            self._hit("ideation.screen_brief")
            screen = ContentScreen(ProfanityScreen(load_terms()), IpMatcher(load_protected_names()))
            result = await screen.check(brief_fields(data.brief))
            if not result.safe:
                raise ApplicationError(
                    "blocked",
                    {"matches": result.details["matches"]},
                    type="UNSAFE_CONTENT",
                    non_retryable=True,
                )
            return ScreenResult(True, result.checked_terms)

        @activity.defn(name="image.generate_design")
        async def generate_design(data: GenerateDesignInput) -> Artwork:
            self._hit("image.generate_design")
            return Artwork("art.png", 30, 36)

        @activity.defn(name="image.make_print_file")
        async def make_print_file(data: MakePrintFileInput) -> PrintFile:
            self._hit("image.make_print_file")
            return PrintFile(
                str(uuid.uuid4()), "print.png", "preview.jpg", "ab" * 32, 45, 54, 300, 9
            )

        @activity.defn(name="printify.get_print_area")
        async def get_print_area(data: PrintAreaInput) -> PrintArea:
            self._hit("printify.get_print_area")
            return PrintArea("front", 4500, 5400)

        @activity.defn(name="printify.resolve_shop")
        async def printify_shop(data: ShopsInput) -> int:
            return 1

        @activity.defn(name="printify.upload_image")
        async def upload_image(data: UploadImageInput) -> UploadedImage:
            self._hit("printify.upload_image")
            return UploadedImage("img1")

        @activity.defn(name="printify.create_product")
        async def create_product(data: CreateProductInput) -> ProductRef:
            await self._held("printify.create_product")
            return ProductRef(
                data.tenant_id, data.integration_id, 1, "prod1", left_out_variant_ids=self.left_out
            )

        @activity.defn(name="printify.publish")
        async def publish(data: ProductRef) -> None:
            self._hit("printify.publish")

        @activity.defn(name="printify.ensure_webhook")
        async def ensure_webhook(data: EnsureWebhookInput) -> PublishWatch:
            return self.publish_watch

        @activity.defn(name="printify.check_publish_started")
        async def check_publish_started(data: ProductRef) -> bool:
            self.polls += 1
            limit = self.polls_before_started
            return limit is not None and self.polls > limit

        @activity.defn(name="printify.publishing_succeeded")
        async def succeeded(data: PublishingSucceededInput) -> None:
            self._hit("printify.publishing_succeeded")

        @activity.defn(name="printify.publishing_failed")
        async def failed(data: PublishingFailedInput) -> None:
            self._hit("printify.publishing_failed")

        @activity.defn(name="etsy.resolve_shop")
        async def etsy_shop(data: ShopsInput) -> int:
            return 2

        @activity.defn(name="etsy.create_draft_listing")
        async def create_draft(data: CreateDraftListingInput) -> ListingRef:
            self._hit("etsy.create_draft_listing")
            return ListingRef(data.tenant_id, data.integration_id, 2, 77)

        @activity.defn(name="etsy.upload_listing_image")
        async def upload_listing_image(data: UploadListingImageInput) -> ListingImageRef:
            self._hit("etsy.upload_listing_image")
            return ListingImageRef(5)

        @activity.defn(name="printify.channel_listing")
        async def channel_listing(data: ProductRef) -> ChannelListing:
            self._hit("printify.channel_listing")
            self.channel_checks += 1
            if self.channel_checks <= self.channel_publishing_checks:
                return ChannelListing(ChannelState.PUBLISHING)
            if self.channel_fails:
                return ChannelListing(ChannelState.FAILED, reason="Etsy refused it")
            return ChannelListing(ChannelState.PUBLISHED, 4242, "https://etsy.test/listing/4242")

        @activity.defn(name="printify.listing_offer")
        async def listing_offer(data: ProductRef) -> ListingOffer:
            self._hit("printify.listing_offer")
            variants = [OfferVariant(12100, "POD-1", 2499, "Black", "S")]
            return ListingOffer(variants, [Mockup("https://m.test/1.png", [12100])])

        @activity.defn(name="etsy.set_listing_inventory")
        async def set_inventory(data: SetListingInventoryInput) -> None:
            self._hit("etsy.set_listing_inventory")
            self.inventories.append(data)

        @activity.defn(name="etsy.upload_listing_images")
        async def upload_images(data: UploadListingImagesInput) -> ListingImages:
            self._hit("etsy.upload_listing_images")
            return ListingImages([5, 6])

        @activity.defn(name="etsy.activate_listing")
        async def activate(data: ListingRef) -> ListingRef:
            self._hit("etsy.activate_listing")
            return replace(data, url="https://etsy.test/listing/77")

        @activity.defn(name="etsy.delete_listing")
        async def delete_listing(data: ListingRef) -> None:
            self._hit("etsy.delete_listing")

        @activity.defn(name="records.update_run")
        async def update_run(data: RunUpdate) -> None:
            self.updates.append(data)

        @activity.defn(name="records.meter_usage")
        async def meter_usage(data: MeterInput) -> bool:
            self.metered.append(data.metric)
            return True

        @activity.defn(name="records.record_listing")
        async def record_listing(data: RecordListingInput) -> str:
            self._hit("records.record_listing")
            return "rec1"

        return {
            "ideation": [generate_brief, screen],
            "image": [generate_design, make_print_file],
            "integration": [
                get_print_area,
                printify_shop,
                upload_image,
                create_product,
                ensure_webhook,
                publish,
                check_publish_started,
                succeeded,
                failed,
                etsy_shop,
                create_draft,
                upload_listing_image,
                listing_offer,
                channel_listing,
                set_inventory,
                upload_images,
                activate,
                delete_listing,
            ],
            "records": [update_run, meter_usage, record_listing],
        }


async def run_with(
    client: Client, fakes: Fakes, request: DesignToListingInput, during: Any = None
) -> DesignToListingResult:
    build = build_id()
    workers = [
        Worker(
            client,
            task_queue=QUEUES["workflows"],
            workflows=[DesignToListingWorkflow],
            activities=bookkeeping(fakes.by_queue()),
            build_id=build,
        )
    ]
    workers += [
        Worker(client, task_queue=QUEUES[queue], activities=acts, build_id=build)
        for queue, acts in fakes.by_queue().items()
    ]
    for worker in workers:
        await worker.__aenter__()
    try:
        handle = await client.start_workflow(
            DesignToListingWorkflow.run,
            request,
            id=f"wf-{uuid.uuid4()}",
            task_queue=QUEUES["workflows"],
        )
        if during is not None:
            await during(handle)
        return await handle.result()
    finally:
        for worker in workers:
            await worker.__aexit__(None, None, None)


def request(**kwargs: Any) -> DesignToListingInput:
    return DesignToListingInput(
        tenant_id="t1",
        request_key="k1",
        keyword="cat mom",
        printify_integration_id="pfy-1",
        etsy_integration_id="etsy-1",
        **kwargs,
    )


async def test_happy_path_runs_every_stage_in_order(skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes()
    result = await run_with(skipping_env.client, fakes, request())
    assert result.status == "completed"
    assert result.etsy_listing_id == 77
    assert result.listing_url == "https://etsy.test/listing/77"
    assert fakes.calls == CHAIN
    assert fakes.updates[-1].status == "completed"
    assert fakes.updates[-1].result is not None
    assert fakes.metered == ["briefs", "images", "products", "listings"]


async def test_the_bookkeeping_is_local_activities_not_tasks_of_the_records_queue(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()
    handles: list[Any] = []

    async def keep(handle: Any) -> None:
        handles.append(handle)

    await run_with(skipping_env.client, fakes, request(), during=keep)
    history = await handles[0].fetch_history()
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    markers = [
        event for event in history.events if event.HasField("marker_recorded_event_attributes")
    ]
    assert not [
        name
        for name in scheduled
        if name.startswith("records.") and name != "records.record_listing"
    ]
    assert len(fakes.updates) + len(fakes.metered) == 17
    assert len(markers) >= 17  # one per local activity, beside the patch markers


async def test_out_of_stock_variants_are_a_note_on_the_run(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(left_out=[12103])
    result = await run_with(skipping_env.client, fakes, request())
    assert result.status == "completed" and fakes.calls == CHAIN
    assert len(result.notes) == 1 and "[12103]" in result.notes[0]
    assert fakes.updates[-1].result is not None
    assert fakes.updates[-1].result["notes"] == result.notes


async def test_on_printifys_etsy_channel_the_run_waits_for_its_listing(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()
    result = await run_with(skipping_env.client, fakes, request(printify_channel="etsy"))
    assert result.status == "completed"
    assert (result.etsy_listing_id, result.listing_url) == (4242, "https://etsy.test/listing/4242")
    assert not [name for name in fakes.calls if name.startswith("etsy.")]  # no Etsy call
    assert "printify.publishing_succeeded" not in fakes.calls
    assert fakes.calls.count("printify.channel_listing") == 3
    assert fakes.calls[-1] == "records.record_listing"
    assert fakes.metered == ["briefs", "images", "products", "listings"]


async def test_a_channel_that_fails_to_list_fails_the_run(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(channel_publishing_checks=0, channel_fails=True)
    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request(printify_channel="etsy"))
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "PRINTIFY_CHANNEL_FAILED"
    assert "Etsy refused it" in str(failure.value.cause)
    assert fakes.updates[-1].error is not None
    assert fakes.updates[-1].error["stage"] == "printify_etsy_channel"


async def test_unsafe_brief_never_reaches_the_image_stage(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(keyword_override="nike running dad")
    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request())
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "UNSAFE_CONTENT"
    assert "image.generate_design" not in fakes.calls
    assert fakes.updates[-1].status == "failed"
    assert fakes.updates[-1].error is not None
    assert fakes.updates[-1].error["code"] == "UNSAFE_CONTENT"


async def test_approval_timeout_ends_the_run(skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes()
    result = await run_with(
        skipping_env.client,
        fakes,
        request(require_approval=True, approval_timeout_seconds=3600),
    )
    # No decision in time is a rejection: the run completes, rejected, not failed.
    assert (result.status, result.listing_url) == ("rejected", "")
    assert "image.generate_design" not in fakes.calls
    assert fakes.updates[-1].status == "rejected"
    assert fakes.updates[-1].error is not None
    assert fakes.updates[-1].error["code"] == "APPROVAL_TIMEOUT"


async def _wait_for_approval_stage(handle: Any) -> None:
    for _ in range(200):
        state = await handle.query(DesignToListingWorkflow.state)
        if state.status == "awaiting_approval":
            return
        await __import__("asyncio").sleep(0.05)
    raise AssertionError("never waited for approval")


async def test_approve_signal_continues_to_the_listing(skipping_env: WorkflowEnvironment) -> None:
    async def approve(handle: Any) -> None:
        await _wait_for_approval_stage(handle)
        await handle.signal(DesignToListingWorkflow.approve)

    fakes = Fakes()
    result = await run_with(
        skipping_env.client, fakes, request(require_approval=True), during=approve
    )
    assert result.status == "completed"
    assert "awaiting_approval" in [u.status for u in fakes.updates]


async def test_reject_signal_stops_before_any_design(skipping_env: WorkflowEnvironment) -> None:
    async def reject(handle: Any) -> None:
        await _wait_for_approval_stage(handle)
        await handle.signal(DesignToListingWorkflow.reject, RejectSignal(reason="off-brand"))

    fakes = Fakes()
    result = await run_with(
        skipping_env.client, fakes, request(require_approval=True), during=reject
    )
    assert result.status == "rejected" and result.brief_id and result.title
    assert "image.generate_design" not in fakes.calls
    error = fakes.updates[-1].error
    assert error is not None and error["code"] == "BRIEF_REJECTED"
    assert "off-brand" in error["message"]


async def _cancel_taken(handle: Any) -> None:
    """Once the workflow has handled Temporal's cancel request (a task completed after it)."""
    for _ in range(200):
        events = [e.event_type for e in (await handle.fetch_history()).events]
        requested = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
        if requested in events and (
            EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in events[events.index(requested) :]
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the cancel request was never handled")


async def test_temporal_cancel_while_waiting_closes_canceled(
    skipping_env: WorkflowEnvironment,
) -> None:
    async def cancel(handle: Any) -> None:
        await _wait_for_approval_stage(handle)
        await handle.cancel()

    fakes = Fakes()
    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request(require_approval=True), during=cancel)
    # CANCELED in Temporal, not a failure; the record says cancelled.
    assert isinstance(failure.value.cause, CancelledError)
    assert fakes.updates[-1].status == "cancelled"
    assert fakes.updates[-1].error is not None
    assert fakes.updates[-1].error["code"] == "CANCELLED"
    assert "image.generate_design" not in fakes.calls


async def test_temporal_cancel_lets_the_step_under_way_finish_and_takes_it_down(
    skipping_env: WorkflowEnvironment,
) -> None:
    """A cancel while the product is being created does not leave the product behind."""
    fakes = Fakes(hold_in="printify.create_product")
    closed: list[WorkflowExecutionStatus | None] = []

    async def cancel(handle: Any) -> None:
        await fakes.entered.wait()
        await handle.cancel()
        await _cancel_taken(handle)
        fakes.release.set()
        with contextlib.suppress(WorkflowFailureError):
            await handle.result()
        closed.append((await handle.describe()).status)

    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request(), during=cancel)
    assert isinstance(failure.value.cause, CancelledError)
    assert closed == [WorkflowExecutionStatus.CANCELED]
    # The product was made, then Printify was told it failed; nothing after it ran.
    assert fakes.calls[-2:] == ["printify.create_product", "printify.publishing_failed"]
    assert "printify.publish" not in fakes.calls
    assert fakes.updates[-1].status == "cancelled"


async def test_cancel_signal_while_waiting(skipping_env: WorkflowEnvironment) -> None:
    async def cancel(handle: Any) -> None:
        await _wait_for_approval_stage(handle)
        await handle.signal(DesignToListingWorkflow.cancel)

    fakes = Fakes()
    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request(require_approval=True), during=cancel)
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "CANCELLED"
    assert fakes.updates[-1].status == "cancelled"


async def test_failure_after_product_takes_the_listing_down(
    skipping_env: WorkflowEnvironment,
) -> None:
    error = ApplicationError(
        "image refused", {"reason": "too small"}, type="ETSY_VALIDATION", non_retryable=True
    )
    fakes = Fakes(fail_on={"etsy.upload_listing_images": error})
    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request())
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "ETSY_VALIDATION"
    assert fakes.calls[-2:] == ["etsy.delete_listing", "printify.publishing_failed"]
    assert "etsy.activate_listing" not in fakes.calls
    last = fakes.updates[-1]
    assert last.status == "failed"
    assert last.error is not None
    assert last.error["stage"] == "etsy_upload_images"
    assert last.error["details"] == {"reason": "too small"}


async def test_compensation_failure_still_reports_the_original_error(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(
        fail_on={
            "printify.publishing_succeeded": ApplicationError(
                "locked", type="PRINTIFY_VALIDATION", non_retryable=True
            ),
            "etsy.delete_listing": ApplicationError(
                "gone wrong", type="ETSY_AUTH", non_retryable=True
            ),
        }
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await run_with(skipping_env.client, fakes, request())
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "PRINTIFY_VALIDATION"
    assert fakes.updates[-1].status == "failed"
