"""DesignToListingWorkflow: trend keyword → brief → design → Printify product → Etsy listing,
all the chain's stages (`workflows.chain`) in one run."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.payloads import DesignToListingInput, DesignToListingResult, RunStatus
    from workflows.chain import ChainRun


@workflow.defn
class DesignToListingWorkflow(ChainRun):
    """One listing from one keyword; queryable (`state`) and steerable by signals."""

    @workflow.run
    async def run(self, request: DesignToListingInput) -> DesignToListingResult:
        return await self._execute(request, self._chain, rejected=self._rejected)

    def _rejected(self) -> DesignToListingResult:
        """A rejected run's result: nothing listed, the brief it had."""
        state = self._require_state()
        return DesignToListingResult(
            workflow_id=state.workflow_id,
            status=RunStatus.REJECTED,
            listing_url="",
            etsy_listing_id=0,
            printify_product_id="",
            printify_shop_id=0,
            design_id="",
            print_file="",
            title=state.artifacts.title or "",
            brief_id=state.artifacts.brief_id or "",
        )

    async def _chain(self, request: DesignToListingInput) -> DesignToListingResult:
        brief_id, brief = await self._ideate(request)
        if request.require_approval:
            await self._await_approval(request)
        print_file = await self._design(request, brief_id, brief)
        return await self._publish(request, brief_id, brief, print_file)
