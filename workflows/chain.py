"""The chain's stages (brief → design → Printify product → Etsy listing) and what a run of
them needs: state, signals, stage records, failure handling and compensation.

Only orchestration lives here: every side effect is an activity on its own task queue,
named with its timeout and retry policy in `workflows.contract`. One class of about 450
lines on purpose: the stages share one run's state, signals and compensation, and each
service workflow (`workflows.services`) runs a part of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.plans import BRIEFS, IMAGES, LISTINGS, PRODUCTS
    from models.payloads import (
        PROGRESS,
        ChannelState,
        CreateDraftListingInput,
        CreateProductInput,
        DesignBrief,
        DesignToListingInput,
        DesignToListingResult,
        EnsureWebhookInput,
        GenerateBriefInput,
        GenerateDesignInput,
        ListingRef,
        MakePrintFileInput,
        MeterInput,
        PrintAreaInput,
        PrintFile,
        ProductRef,
        PublishConfirmation,
        PublishingFailedInput,
        PublishingSucceededInput,
        PublishStartedSignal,
        PublishWatch,
        RecordListingInput,
        RejectSignal,
        RunStatus,
        RunUpdate,
        ScreenBriefInput,
        SetListingInventoryInput,
        ShopsInput,
        Stage,
        UploadImageInput,
        UploadListingImageInput,
        UploadListingImagesInput,
        WorkflowError,
        WorkflowState,
    )
    from workflows.contract import (
        ACTIVATE_LISTING,
        CHECK_PUBLISH_STARTED,
        CREATE_DRAFT_LISTING,
        CREATE_PRODUCT,
        DELETE_LISTING,
        ENSURE_WEBHOOK,
        ETSY_RESOLVE_SHOP,
        GENERATE_BRIEF,
        GENERATE_DESIGN,
        GET_PRINT_AREA,
        MAKE_PRINT_FILE,
        METER_USAGE,
        PRINTIFY_CHANNEL_LISTING,
        PRINTIFY_LISTING_OFFER,
        PRINTIFY_RESOLVE_SHOP,
        PUBLISH_PRODUCT,
        PUBLISHING_FAILED,
        PUBLISHING_SUCCEEDED,
        RECORD_LISTING,
        RUN_STATUS_ATTRIBUTE,
        SCREEN_BRIEF,
        SET_LISTING_INVENTORY,
        STAGE_ATTRIBUTE,
        UPDATE_RUN,
        UPLOAD_IMAGE,
        UPLOAD_LISTING_IMAGE,
        UPLOAD_LISTING_IMAGES,
        ActivityDef,
        call,
        call_local,
    )
    from workflows.failures import describe_failure


# Etsy charges USD 0.20 to publish a listing (a fee of the marketplace, not a setting).
ETSY_LISTING_FEE_CENTS = 20

# Runs begun before Printify webhooks replay without subscribing, waiting or polling.
PUBLISH_WEBHOOK_PATCH = "printify-publish-webhook"
# Runs begun before variations replay with one price and one image on Etsy.
VARIATIONS_PATCH = "etsy-variations-and-mockups"
# Runs begun before it record their stages and meter their usage with activities of
# the records queue; since, with local activities of the workflow worker (issue 15).
LOCAL_BOOKKEEPING_PATCH = "local-bookkeeping"
# Runs begun before Printify's Etsy channel make the Etsy listing themselves.
ETSY_CHANNEL_PATCH = "printify-etsy-channel"
# Seconds between checks of Printify's Etsy channel (about five minutes in all).
CHANNEL_POLL_DELAYS = (1, 2, 4, 8, 15, 30, 60, 60, 60, 60)
# Seconds between polls of the product when no webhook came (about a minute in all);
# then the run goes on: Printify accepted the publish call, the lock is only its echo.
PUBLISH_POLL_DELAYS = (1, 2, 4, 8, 16, 32)


# Histories from before a rejected run completed (with a "rejected" result) rather than
# failed: Temporal showed the seller's decision as a failure.
REJECTED_COMPLETES = "rejected-run-completes"
# Histories from before a Temporal cancel request stopped the run at a stage boundary (as
# the `cancel` signal does) and closed it CANCELED: the request cancelled the step under
# way, so a product being created could outlive the clean-up.
GRACEFUL_CANCEL = "graceful-temporal-cancel"
# Histories from before a run showed its stage and status as search attributes (Stage,
# RunStatus) and its current details in the Web UI (issue 17).
SEARCHABLE_STAGES = "searchable-stages"


class _Stopped(Exception):
    """The seller rejected the brief or cancelled the run."""

    def __init__(self, status: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ChainRun:
    """The stages of the chain and everything a run of them needs: state (`state` query),
    signals, activity calls, stage records, failure handling and compensation.

    `DesignToListingWorkflow` runs all of it; the service workflows (`workflows.services`)
    run one part each, with the same records, queries and signals.
    """

    def __init__(self) -> None:
        self._state: WorkflowState | None = None
        self._decision: str | None = None
        self._decision_reason = ""
        self._cancel_requested = False
        self._cancelled_by_temporal = False
        self._publish_started = False
        self._product: ProductRef | None = None
        self._listing: ListingRef | None = None
        self._shown: tuple[str, str] | None = None  # the Stage and RunStatus the UI has

    # --- queries and signals ------------------------------------------------------------

    @workflow.query
    def state(self) -> WorkflowState:
        """Stage, progress, artifacts made so far and the last error."""
        if self._state is None:
            raise ApplicationError("the workflow has not started yet")
        return self._state

    @workflow.signal
    def approve(self) -> None:
        self._decision = "approved"

    @workflow.signal
    def reject(self, signal: RejectSignal) -> None:
        self._decision = "rejected"
        self._decision_reason = signal.reason

    @workflow.signal
    def cancel(self) -> None:
        self._cancel_requested = True

    @workflow.signal
    def publish_started(self, signal: PublishStartedSignal) -> None:
        """Printify's webhook: publishing of this run's product started."""
        workflow.logger.info("publish of %s started (event %s)", signal.product_id, signal.event_id)
        self._publish_started = True

    # --- the chain ------------------------------------------------------------------------

    async def _execute[R](
        self,
        request: DesignToListingInput,
        stages: Callable[[DesignToListingInput], Awaitable[R]],
        rejected: Callable[[], R] | None = None,
    ) -> R:
        """Run `stages`; a failure, rejection or cancel is compensated and recorded. A
        rejection is the seller's decision, not a failure: with `rejected`, the run
        completes with that result (its status "rejected") instead of failing. A cancel
        (Temporal's request) closes the run CANCELED once it is cleaned up."""
        info = workflow.info()
        self._state = WorkflowState(
            workflow_id=info.workflow_id, tenant_id=request.tenant_id, keyword=request.keyword
        )
        settled = self._settle(request, stages, rejected)
        if workflow.patched(GRACEFUL_CANCEL):
            return await self._through_cancel(settled)
        return await settled

    async def _through_cancel[R](self, run: Awaitable[R]) -> R:
        """Await `run` through Temporal cancel requests. A request is taken as the
        `cancel` signal is: the step under way finishes (a product it is creating gets
        known, so it is taken down), the run stops at the next stage boundary, and its
        clean-up is not interrupted either."""
        task = asyncio.ensure_future(run)
        while True:
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.done():
                    raise
                workflow.logger.info("cancel requested: stopping at the next stage boundary")
                self._cancel_requested = True
                self._cancelled_by_temporal = True

    async def _settle[R](
        self,
        request: DesignToListingInput,
        stages: Callable[[DesignToListingInput], Awaitable[R]],
        rejected: Callable[[], R] | None,
    ) -> R:
        try:
            return await stages(request)
        except _Stopped as stop:
            await self._compensate(request, stop.message)
            await self._finish(request, stop.status, stop.code, stop.message, None)
            if (
                stop.status == RunStatus.REJECTED
                and rejected is not None
                and workflow.patched(REJECTED_COMPLETES)
            ):
                return rejected()
            if stop.status == RunStatus.CANCELLED and self._cancelled_by_temporal:
                # Cleaned up and recorded: the run closes CANCELED in Temporal.
                raise asyncio.CancelledError(stop.message) from None
            raise ApplicationError(stop.message, type=stop.code, non_retryable=True) from None
        except (ActivityError, ApplicationError) as exc:
            code, message, details = describe_failure(exc)
            await self._compensate(request, message)
            await self._finish(request, RunStatus.FAILED, code, message, details)
            raise ApplicationError(message, details or {}, type=code, non_retryable=True) from exc
        except asyncio.CancelledError:
            # Histories from before GRACEFUL_CANCEL: Temporal's cancel interrupted the
            # step under way; clean up in a shielded scope, then stop.
            await asyncio.shield(self._cleanup_after_cancel(request))
            raise

    async def _ideate(self, request: DesignToListingInput) -> tuple[str, DesignBrief]:
        """Write the brief for the keyword and screen it: (brief id, brief)."""
        state = self._require_state()
        wf_id = state.workflow_id
        tenant = request.tenant_id

        await self._enter(request, Stage.BRIEF)
        brief_result = await call(
            GENERATE_BRIEF, GenerateBriefInput(tenant, wf_id, request.keyword)
        )
        brief = brief_result.brief
        await self._meter(tenant, wf_id, BRIEFS)
        state.artifacts.brief_id = brief_result.brief_id
        state.artifacts.title = brief.title

        await self._enter(request, Stage.SCREEN)
        await call(SCREEN_BRIEF, ScreenBriefInput(tenant, brief, wf_id))
        return brief_result.brief_id, brief

    async def _design(
        self, request: DesignToListingInput, brief_id: str, brief: DesignBrief
    ) -> PrintFile:
        """Make the artwork and the print file for the template's print area."""
        state = self._require_state()
        wf_id = state.workflow_id
        tenant = request.tenant_id

        await self._enter(request, Stage.DESIGN)
        artwork = await call(GENERATE_DESIGN, GenerateDesignInput(tenant, wf_id, brief))
        await self._meter(tenant, wf_id, IMAGES)
        template = request.template
        print_area = await call(
            GET_PRINT_AREA,
            PrintAreaInput(
                tenant,
                request.printify_integration_id,
                template.blueprint_id,
                template.print_provider_id,
                template.variant_ids,
                template.position,
            ),
        )
        await self._enter(request, Stage.PRINT_FILE)
        print_file = await call(
            MAKE_PRINT_FILE, MakePrintFileInput(tenant, wf_id, brief_id, artwork, print_area)
        )
        state.artifacts.design_id = print_file.design_id
        state.artifacts.print_file = print_file.storage_key
        state.artifacts.sha256 = print_file.sha256
        return print_file

    async def _publish(
        self,
        request: DesignToListingInput,
        brief_id: str,
        brief: DesignBrief,
        print_file: PrintFile,
    ) -> DesignToListingResult:
        """Printify upload, product and publish; the Etsy listing; then the record."""
        state = self._require_state()
        wf_id = state.workflow_id
        tenant = request.tenant_id
        template = request.template

        shops_input = ShopsInput(
            tenant,
            request.printify_integration_id,
            request.etsy_integration_id,
            request.printify_shop_id,
            request.etsy_shop_id,
        )
        printify_shop = await call(PRINTIFY_RESOLVE_SHOP, shops_input)
        await self._enter(request, Stage.PRINTIFY_UPLOAD)
        upload = await call(
            UPLOAD_IMAGE,
            UploadImageInput(tenant, wf_id, request.printify_integration_id, print_file),
        )
        state.artifacts.printify_image_id = upload.image_id

        await self._enter(request, Stage.PRINTIFY_PRODUCT)
        product = await call(
            CREATE_PRODUCT,
            CreateProductInput(
                tenant,
                wf_id,
                request.printify_integration_id,
                printify_shop,
                brief,
                template,
                upload.image_id,
            ),
        )
        self._product = product
        if product.left_out_variant_ids:
            state.artifacts.notes.append(
                f"variants {product.left_out_variant_ids} are out of stock at the print "
                "provider and were left out of the product"
            )
        # The pricing rule's price (products recorded before pricing rules carry 0).
        price = product.price_cents or template.price_cents
        await self._meter(tenant, wf_id, PRODUCTS)
        state.artifacts.printify_product_id = product.product_id

        await self._enter(request, Stage.PRINTIFY_PUBLISH)
        watch: PublishWatch | None = None
        if workflow.patched(PUBLISH_WEBHOOK_PATCH):
            watch = await call(
                ENSURE_WEBHOOK,
                EnsureWebhookInput(tenant, request.printify_integration_id, printify_shop),
            )
        await call(PUBLISH_PRODUCT, product)
        if watch is not None:
            state.artifacts.publish_confirmed_by = await self._confirm_publish(product, watch)

        if request.printify_channel == "etsy" and workflow.patched(ETSY_CHANNEL_PATCH):
            listing = await self._channel_listing(request, product)
        else:
            listing = await self._list_on_etsy(
                request, shops_input, brief, price, product, print_file
            )

        await self._enter(request, Stage.RECORD, check_cancel=False)
        await call(
            RECORD_LISTING,
            RecordListingInput(
                tenant,
                wf_id,
                print_file.design_id,
                product,
                listing,
                upload.image_id,
                title=brief.title,
            ),
        )
        result = DesignToListingResult(
            workflow_id=wf_id,
            status=RunStatus.COMPLETED,
            listing_url=listing.url,
            etsy_listing_id=listing.listing_id,
            printify_product_id=product.product_id,
            printify_shop_id=product.shop_id,
            design_id=print_file.design_id,
            print_file=print_file.storage_key,
            cost_cents={
                "price": price,
                "printify_unit_cost": product.unit_cost_cents,
                "etsy_listing_fee": ETSY_LISTING_FEE_CENTS,
                "margin_before_etsy_sale_fees": price
                - product.unit_cost_cents
                - ETSY_LISTING_FEE_CENTS,
            },
            title=brief.title,
            brief_id=brief_id,
            publish_confirmed_by=state.artifacts.publish_confirmed_by or "",
            notes=list(state.artifacts.notes),
        )
        await self._complete(request, _as_dict(result))
        return result

    async def _list_on_etsy(
        self,
        request: DesignToListingInput,
        shops_input: ShopsInput,
        brief: DesignBrief,
        price: int,
        product: ProductRef,
        print_file: PrintFile,
    ) -> ListingRef:
        """Make the Etsy listing ourselves (a custom Printify shop): draft, variations,
        photos, activation, then tell Printify where the product is sold."""
        state = self._require_state()
        wf_id = state.workflow_id
        tenant = request.tenant_id
        etsy_shop = await call(ETSY_RESOLVE_SHOP, shops_input)
        await self._enter(request, Stage.ETSY_DRAFT)
        listing = await call(
            CREATE_DRAFT_LISTING,
            CreateDraftListingInput(
                tenant,
                wf_id,
                request.etsy_integration_id,
                etsy_shop,
                brief,
                price,
                request.etsy_listing,
            ),
        )
        self._listing = listing
        state.artifacts.etsy_listing_id = listing.listing_id

        if workflow.patched(VARIATIONS_PATCH):
            # What the listing offers and shows: Printify's variants and mock-ups.
            offer = await call(PRINTIFY_LISTING_OFFER, product)
            await call(
                SET_LISTING_INVENTORY,
                SetListingInventoryInput(listing, offer.variants, request.etsy_listing),
            )
            await self._enter(request, Stage.ETSY_IMAGES)
            await call(
                UPLOAD_LISTING_IMAGES,
                UploadListingImagesInput(
                    tenant, wf_id, listing, offer.mockups, print_file.preview_key, brief.title
                ),
            )
        else:
            await self._enter(request, Stage.ETSY_IMAGES)
            await call(
                UPLOAD_LISTING_IMAGE,
                UploadListingImageInput(
                    tenant, wf_id, listing, print_file.preview_key, brief.title
                ),
            )

        await self._enter(request, Stage.ETSY_ACTIVATE)
        listing = await call(ACTIVATE_LISTING, listing)
        self._listing = listing
        await self._meter(tenant, wf_id, LISTINGS)
        state.artifacts.listing_url = listing.url

        await self._enter(request, Stage.PUBLISH_CONFIRM)
        await call(PUBLISHING_SUCCEEDED, PublishingSucceededInput(product, listing))

        return listing

    async def _channel_listing(
        self, request: DesignToListingInput, product: ProductRef
    ) -> ListingRef:
        """The listing Printify's own Etsy channel makes for the published product: polled
        with backoff until Printify names it (never made by us: no Etsy call)."""
        state = self._require_state()
        await self._enter(request, Stage.PRINTIFY_CHANNEL)
        for delay in (0, *CHANNEL_POLL_DELAYS):
            if delay:
                await workflow.sleep(timedelta(seconds=delay))
            found = await call(PRINTIFY_CHANNEL_LISTING, product)
            if found.state == ChannelState.PUBLISHED:
                listing = ListingRef(
                    request.tenant_id,
                    request.etsy_integration_id,
                    0,  # Printify's listing: the Etsy shop is the one Printify is connected to
                    found.listing_id,
                    found.url,
                )
                state.artifacts.etsy_listing_id = listing.listing_id
                state.artifacts.listing_url = listing.url
                await self._meter(request.tenant_id, state.workflow_id, LISTINGS)
                return listing
            if found.state == ChannelState.FAILED:
                break
        raise ApplicationError(
            "Printify's Etsy channel did not list the product"
            + (f": {found.reason}" if found.reason else f" within {sum(CHANNEL_POLL_DELAYS)} s"),
            {"product_id": product.product_id},
            type="PRINTIFY_CHANNEL_FAILED",
            non_retryable=True,
        )

    async def _complete(self, request: DesignToListingInput, result: dict[str, Any]) -> None:
        """Record the run as completed with its result."""
        state = self._require_state()
        await self._record(
            RunUpdate(
                request.tenant_id, state.workflow_id, Stage.DONE, RunStatus.COMPLETED, result=result
            )
        )
        # Only now, so a reader who sees "completed" also finds the recorded result.
        state.stage = Stage.DONE
        state.status = RunStatus.COMPLETED
        state.progress = 1.0

    # --- helpers -----------------------------------------------------------------------------

    def _require_state(self) -> WorkflowState:
        assert self._state is not None
        return self._state

    async def _meter(self, tenant_id: str, workflow_id: str, metric: str) -> None:
        """Bill one completed stage (idempotent in Postgres, so retries bill once)."""
        await self._bookkeeping(METER_USAGE, MeterInput(tenant_id, workflow_id, metric))

    async def _record(self, update: RunUpdate) -> None:
        await self._bookkeeping(UPDATE_RUN, update)
        self._show(update.stage, update.status)

    def _show(self, stage: str, status: str) -> None:
        """Keep the run's `Stage` and `RunStatus` search attributes and its current details
        in the Web UI what the record says (only what changed is written)."""
        if (stage, status) == self._shown or not workflow.patched(SEARCHABLE_STAGES):
            return
        shown_stage, shown_status = self._shown or ("", "")
        changed = []
        if stage != shown_stage:
            changed.append(STAGE_ATTRIBUTE.value_set(stage))
        if status != shown_status:
            changed.append(RUN_STATUS_ATTRIBUTE.value_set(status))
        workflow.upsert_search_attributes(changed)
        self._shown = (stage, status)
        state = self._require_state()
        progress = 1.0 if status == RunStatus.COMPLETED else state.progress
        workflow.set_current_details(
            f"**{status}** at `{stage}` ({progress:.0%})"
            + (f"\n\nlast error: {state.last_error.code}" if state.last_error else "")
        )

    @staticmethod
    async def _bookkeeping[I](activity: ActivityDef[I, Any], arg: I) -> None:
        """A write to our own records: a local activity, so the Temporal server schedules
        and dispatches no task for it (`make bench-chains` had 17 of a run's 37 activity
        tasks be these); runs begun before replay their activity tasks."""
        if workflow.patched(LOCAL_BOOKKEEPING_PATCH):
            await call_local(activity, arg)
        else:
            await call(activity, arg)

    async def _enter(
        self,
        request: DesignToListingInput,
        stage: Stage,
        *,
        status: RunStatus = RunStatus.RUNNING,
        check_cancel: bool = True,
    ) -> None:
        """Move to `stage` (recorded in Postgres) unless a cancel was requested."""
        if check_cancel and self._cancel_requested:
            raise _Stopped(RunStatus.CANCELLED, "CANCELLED", "the run was cancelled")
        state = self._require_state()
        state.stage = stage
        state.progress = PROGRESS.get(stage, state.progress)
        workflow.logger.info(
            "stage %s (%s)", stage.value, status.value, extra={"stage": stage.value}
        )
        await self._record(RunUpdate(request.tenant_id, state.workflow_id, stage, status))
        # After the record, so the API never offers a signal the record would refuse.
        state.status = status

    async def _await_approval(self, request: DesignToListingInput) -> None:
        state = self._require_state()
        await self._enter(request, Stage.APPROVAL, status=RunStatus.AWAITING_APPROVAL)
        try:
            await workflow.wait_condition(
                lambda: self._decision is not None or self._cancel_requested,
                timeout=timedelta(seconds=request.approval_timeout_seconds),
            )
        except TimeoutError:
            raise _Stopped(
                RunStatus.REJECTED,
                "APPROVAL_TIMEOUT",
                f"no approval within {request.approval_timeout_seconds} s",
            ) from None
        if self._cancel_requested:
            raise _Stopped(RunStatus.CANCELLED, "CANCELLED", "the run was cancelled")
        if self._decision == "rejected":
            reason = self._decision_reason or "no reason given"
            raise _Stopped(RunStatus.REJECTED, "BRIEF_REJECTED", f"brief rejected: {reason}")
        state.status = RunStatus.RUNNING

    async def _confirm_publish(self, product: ProductRef, watch: PublishWatch) -> str:
        """Wait for Printify's webhook, then poll the product with backoff; never fails."""
        if await self._publish_signalled(watch.wait_seconds):
            return PublishConfirmation.WEBHOOK
        for delay in PUBLISH_POLL_DELAYS:
            try:
                started = await call(CHECK_PUBLISH_STARTED, product)
            except ActivityError as exc:
                # The publish call itself succeeded; a check that cannot be made is no reason
                # to undo it.
                workflow.logger.warning("publish check of %s failed: %s", product.product_id, exc)
                return PublishConfirmation.UNCONFIRMED
            if started:
                return PublishConfirmation.POLLING
            if await self._publish_signalled(delay):
                return PublishConfirmation.WEBHOOK
        workflow.logger.warning("publish of %s not confirmed; going on", product.product_id)
        return PublishConfirmation.UNCONFIRMED

    async def _publish_signalled(self, seconds: float) -> bool:
        """Whether the webhook's signal came (or comes within `seconds`); a cancel stops."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._publish_started or self._cancel_requested,
                    timeout=timedelta(seconds=seconds),
                )
        if self._cancel_requested:
            raise _Stopped(RunStatus.CANCELLED, "CANCELLED", "the run was cancelled")
        return self._publish_started

    async def _compensate(self, request: DesignToListingInput, reason: str) -> None:
        """Leave no half-made listing: take the Etsy listing down, tell Printify it failed."""
        try:
            if self._listing is not None:
                await call(DELETE_LISTING, self._listing)
            if self._product is not None:
                await call(PUBLISHING_FAILED, PublishingFailedInput(self._product, reason[:500]))
        except ActivityError as exc:
            # Compensation is best effort: the run's own failure is what the seller must see.
            workflow.logger.warning("compensation failed: %s", exc)

    async def _finish(
        self,
        request: DesignToListingInput,
        status: str,
        code: str,
        message: str,
        details: dict[str, Any] | None,
    ) -> None:
        state = self._require_state()
        error = WorkflowError(code=code, message=message, stage=state.stage, details=details)
        state.last_error = error
        await self._record(
            RunUpdate(
                request.tenant_id, state.workflow_id, state.stage, status, error=_as_dict(error)
            )
        )
        state.status = status

    async def _cleanup_after_cancel(self, request: DesignToListingInput) -> None:
        await self._compensate(request, "the run was cancelled")
        await self._finish(request, RunStatus.CANCELLED, "CANCELLED", "the run was cancelled", None)


def _as_dict(value: Any) -> dict[str, Any]:
    """A dataclass payload as a JSON-ready dict (workflow-safe: no I/O)."""
    return asdict(value)
