"""Every recorded history replays on the current workflow code, and every workflow type the
worker registers has at least one recorded history (see `record_histories.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.runner import WORKFLOWS

HISTORIES = Path(__file__).resolve().parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))


def workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return str(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


def test_every_registered_workflow_type_has_a_recorded_history() -> None:
    recorded = {workflow_type(path) for path in FILES}
    assert {cls.__name__ for cls in WORKFLOWS} <= recorded


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
async def test_the_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
