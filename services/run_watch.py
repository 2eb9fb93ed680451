"""What a live run is waiting on, and how much work waits on each task queue: read from
Temporal for `GET /v1/workflows/{id}` and `pod status` (issue 17).

A run's record says the last stage it entered; the activity that actually waits (its
attempt, its last failure, and the vendor call its heartbeats name, `core.waiting`) is in
Temporal's description of the workflow.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from services.runs import QUERY_TIMEOUT, handle
from workflows.contract import QUEUES

_STATE_PREFIX = "PENDING_ACTIVITY_STATE_"


@dataclass(frozen=True)
class PendingActivity:
    """An activity of a run that has not finished: scheduled, running or between tries."""

    activity_type: str
    state: str  # scheduled, started, cancel_requested
    attempt: int
    maximum_attempts: int | None  # None: no limit but the run's time
    waiting_seconds: float  # since this attempt started (or was scheduled)
    waiting_on: str | None  # what its last heartbeat said it waits on
    last_heartbeat_at: datetime | None
    last_failure: dict[str, str] | None  # {type, message} of the previous attempt
    next_attempt_at: datetime | None


def _time(stamp: Timestamp) -> datetime | None:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def _failure(info: PendingActivityInfo) -> dict[str, str] | None:
    if not info.HasField("last_failure"):
        return None
    failure = info.last_failure
    if failure.HasField("application_failure_info"):
        kind = failure.application_failure_info.type or "ApplicationError"
    elif failure.HasField("timeout_failure_info"):
        kind = "TIMEOUT"
    else:
        kind = failure.WhichOneof("failure_info") or "failure"
    return {"type": kind, "message": failure.message}


async def _pending(client: Client, info: PendingActivityInfo, now: datetime) -> PendingActivity:
    note = None
    if info.heartbeat_details.payloads:
        decoded: list[Any] = await client.data_converter.decode(info.heartbeat_details.payloads)
        note = str(decoded[0]) if decoded else None
    since = _time(info.last_started_time) or _time(info.scheduled_time) or now
    state = PendingActivityState.Name(info.state).removeprefix(_STATE_PREFIX).lower()
    return PendingActivity(
        activity_type=info.activity_type.name,
        state=state,
        attempt=info.attempt,
        maximum_attempts=info.maximum_attempts or None,
        waiting_seconds=round(max(0.0, (now - since).total_seconds()), 1),
        waiting_on=note,
        last_heartbeat_at=_time(info.last_heartbeat_time),
        last_failure=_failure(info),
        next_attempt_at=_time(info.next_attempt_schedule_time),
    )


async def pending_activities(client: Client, workflow_id: str) -> list[PendingActivity]:
    """The run's activities that have not finished, as Temporal describes them now."""
    description = await handle(client, workflow_id).describe(rpc_timeout=QUERY_TIMEOUT)
    now = datetime.now(UTC)
    return [
        await _pending(client, info, now) for info in description.raw_description.pending_activities
    ]


async def queue_backlogs(client: Client) -> dict[str, dict[str, float]]:
    """Per task queue: tasks waiting for a worker and the age of the oldest, in seconds
    (workflow tasks on `pod-workflows`, activity tasks on the others)."""

    async def backlog(queue: str) -> tuple[str, dict[str, float]]:
        kind = (
            TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
            if queue == "workflows"
            else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
        )
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=QUEUES[queue]),
                task_queue_type=kind,
                report_stats=True,
            ),
            timeout=QUERY_TIMEOUT,
        )
        stats = answer.stats
        age = timedelta(
            seconds=stats.approximate_backlog_age.seconds,
            microseconds=stats.approximate_backlog_age.nanos // 1000,
        )
        return QUEUES[queue], {
            "backlog": stats.approximate_backlog_count,
            "oldest_seconds": round(age.total_seconds(), 1),
            "pollers": len(answer.pollers),
        }

    return dict(await asyncio.gather(*(backlog(queue) for queue in QUEUES)))


async def live_runs(client: Client, limit: int = 20) -> list[dict[str, Any]]:
    """The running workflows (newest first, at most `limit`), each with its pending
    activities: what `pod status` shows an operator. The descriptions are asked for
    all at once."""
    executions = [
        e async for e in client.list_workflows("ExecutionStatus = 'Running'", limit=limit)
    ]
    described = await asyncio.gather(*(pending_activities(client, e.id) for e in executions))
    return [
        {
            "workflow_id": execution.id,
            "type": execution.workflow_type,
            "started_at": _iso(execution.start_time),
            "pending_activities": [
                {
                    **asdict(p),
                    "last_heartbeat_at": _iso(p.last_heartbeat_at),
                    "next_attempt_at": _iso(p.next_attempt_at),
                }
                for p in pending
            ],
        }
        for execution, pending in zip(executions, described, strict=True)
    ]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
