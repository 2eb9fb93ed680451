"""Each service of the chain as a short workflow of its own (ADR 0016).

- `BriefWorkflow`: keyword → brief, screened (the brief's status becomes ready or
  refused);
- `DesignWorkflow`: a screened brief → artwork and print file;
- `PublishDesignWorkflow`: a design → Printify product → Etsy listing.

They run the same stages as `DesignToListingWorkflow` (`ChainRun`), so records,
metering, the `state` query, the cancel signal and compensation behave the same.
"""

from __future__ import annotations

from dataclasses import asdict

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.payloads import (
        DesignToListingInput,
        DesignToListingResult,
        RunStatus,
        ServiceRunResult,
    )
    from workflows.chain import ChainRun


@workflow.defn
class BriefWorkflow(ChainRun):
    """A screened brief for a keyword, and nothing more."""

    @workflow.run
    async def run(self, request: DesignToListingInput) -> ServiceRunResult:
        return await self._execute(request, self._brief)

    async def _brief(self, request: DesignToListingInput) -> ServiceRunResult:
        brief_id, brief = await self._ideate(request)
        result = ServiceRunResult(
            workflow_id=workflow.info().workflow_id,
            status=RunStatus.COMPLETED,
            brief_id=brief_id,
            title=brief.title,
        )
        await self._complete(request, asdict(result))
        return result


@workflow.defn
class DesignWorkflow(ChainRun):
    """Artwork and print file for a brief that passed screening."""

    @workflow.run
    async def run(self, request: DesignToListingInput) -> ServiceRunResult:
        return await self._execute(request, self._make)

    async def _make(self, request: DesignToListingInput) -> ServiceRunResult:
        if request.brief is None:
            raise ApplicationError("a design run needs a brief", type="INVALID_INPUT")
        state = self._require_state()
        state.artifacts.brief_id = request.brief_id
        state.artifacts.title = request.brief.title
        print_file = await self._design(request, request.brief_id, request.brief)
        result = ServiceRunResult(
            workflow_id=state.workflow_id,
            status=RunStatus.COMPLETED,
            brief_id=request.brief_id,
            title=request.brief.title,
            design_id=print_file.design_id,
            print_file=print_file.storage_key,
            sha256=print_file.sha256,
        )
        await self._complete(request, asdict(result))
        return result


@workflow.defn
class PublishDesignWorkflow(ChainRun):
    """The Printify product and the Etsy listing for a design made earlier."""

    @workflow.run
    async def run(self, request: DesignToListingInput) -> DesignToListingResult:
        return await self._execute(request, self._publish_design)

    async def _publish_design(self, request: DesignToListingInput) -> DesignToListingResult:
        if request.brief is None or request.print_file is None:
            raise ApplicationError("a publish run needs a brief and a design", type="INVALID_INPUT")
        state = self._require_state()
        state.artifacts.brief_id = request.brief_id
        state.artifacts.title = request.brief.title
        state.artifacts.design_id = request.print_file.design_id
        state.artifacts.print_file = request.print_file.storage_key
        return await self._publish(request, request.brief_id, request.brief, request.print_file)
