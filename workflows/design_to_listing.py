"""DesignToListingWorkflow: trend keyword → brief → design → Printify product → Etsy listing,
all the chain's stages (`workflows.chain`) in one run."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.payloads import DesignToListingInput, DesignToListingResult
    from workflows.chain import ChainRun


@workflow.defn
class DesignToListingWorkflow(ChainRun):
    """One listing from one keyword; queryable (`state`) and steerable by signals."""

    @workflow.run
    async def run(self, request: DesignToListingInput) -> DesignToListingResult:
        return await self._execute(request, self._chain)

    async def _chain(self, request: DesignToListingInput) -> DesignToListingResult:
        brief_id, brief = await self._ideate(request)
        if request.require_approval:
            await self._await_approval(request)
        print_file = await self._design(request, brief_id, brief)
        return await self._publish(request, brief_id, brief, print_file)
