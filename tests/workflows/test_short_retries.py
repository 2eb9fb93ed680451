"""The test-only `ShortRetries` interceptor changes only how long retries wait: every
activity call keeps its attempts, backoff and non-retryable errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment

from tests.short_retries import ShortRetries
from tests.workflows.serving import serving
from tests.workflows.test_design_to_listing_workflow import Fakes, request
from workflows.contract import QUEUES
from workflows.design_to_listing import DesignToListingWorkflow


@dataclass(frozen=True)
class Scheduled:
    """One scheduled activity and its retry policy, as the server recorded it."""

    activity: str
    initial: timedelta
    maximum: timedelta
    backoff: float
    attempts: int
    permanent: tuple[str, ...]

    @classmethod
    def of(cls, event: HistoryEvent) -> Scheduled:
        scheduled = event.activity_task_scheduled_event_attributes
        policy = scheduled.retry_policy
        return cls(
            scheduled.activity_type.name,
            policy.initial_interval.ToTimedelta(),
            policy.maximum_interval.ToTimedelta(),
            policy.backoff_coefficient,
            policy.maximum_attempts,
            tuple(policy.non_retryable_error_types),
        )


async def scheduled(env: WorkflowEnvironment, shorten: bool) -> list[Scheduled]:
    """Every activity a whole run scheduled, in order."""
    interceptors = [ShortRetries()] if shorten else []
    client = env.client
    async with serving(client, [DesignToListingWorkflow], Fakes().by_queue(), interceptors):
        handle = await client.start_workflow(
            DesignToListingWorkflow.run,
            request(),
            id=f"wf-{uuid.uuid4()}",
            task_queue=QUEUES["workflows"],
        )
        await handle.result()
    history = await handle.fetch_history()
    return [
        Scheduled.of(event)
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]


async def test_only_the_waits_between_attempts_shrink(skipping_env: WorkflowEnvironment) -> None:
    production = await scheduled(skipping_env, shorten=False)
    short = await scheduled(skipping_env, shorten=True)

    assert len(short) == len(production) > 10
    assert any(call.initial > timedelta(milliseconds=100) for call in production)
    for mine, theirs in zip(short, production, strict=True):
        assert mine == Scheduled(
            theirs.activity,
            min(theirs.initial, timedelta(milliseconds=100)),
            min(theirs.maximum, timedelta(seconds=1)),
            theirs.backoff,
            theirs.attempts,
            theirs.permanent,
        )
