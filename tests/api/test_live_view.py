"""A run's view merges the workflow's `state` query into the record, but never reports
an end the request's record does not show yet (its result would be missing)."""

from __future__ import annotations

from api.run_views import recorded_view, with_live_state
from core.settings import Settings
from models.payloads import RunStatus, Stage, WorkflowState
from models.tables import WorkflowRun


def running_record() -> WorkflowRun:
    return WorkflowRun(
        workflow_id="dtl-t-live",
        tenant_id="t",
        request_key="k",
        request_hash="h",
        keyword="otter pun",
        status=RunStatus.RUNNING,
        stage=Stage.RECORD,
    )


def state(status: RunStatus, stage: Stage) -> WorkflowState:
    return WorkflowState("dtl-t-live", "t", "otter pun", stage=stage, status=status, progress=0.9)


def test_a_live_run_shows_the_workflows_stage_and_status(settings: Settings) -> None:
    view = recorded_view(running_record(), settings=settings)

    live = with_live_state(view, state(RunStatus.AWAITING_APPROVAL, Stage.APPROVAL))

    assert (live.status, live.stage, live.progress) == (
        RunStatus.AWAITING_APPROVAL,
        Stage.APPROVAL,
        0.9,
    )


def test_an_end_the_record_does_not_show_yet_is_not_reported(settings: Settings) -> None:
    """The workflow records its end before its query says so, but this request may have
    read the record just before: "completed" without its result would mislead a poller."""
    view = recorded_view(running_record(), settings=settings)

    for ended in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED):
        live = with_live_state(view, state(ended, Stage.DONE))
        assert live.status == RunStatus.RUNNING and live.stage == Stage.RECORD
        assert live.result is None
