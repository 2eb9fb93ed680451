"""How a run learns that Printify started publishing: the webhook's signal, else polling
with backoff, else it goes on; and histories from before this step still replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from models.payloads import PublishStartedSignal, PublishWatch
from tests.workflows.test_design_to_listing_workflow import Fakes, request, run_with
from workflows.chain import PUBLISH_POLL_DELAYS
from workflows.design_to_listing import DesignToListingWorkflow

HISTORIES = Path(__file__).resolve().parent / "histories"


async def signal_publish_started(handle: Any) -> None:
    # Sent at once: a signal that comes before the wait counts as well.
    await handle.signal(
        DesignToListingWorkflow.publish_started, PublishStartedSignal("prod1", "evt-1")
    )


async def test_the_webhook_signal_confirms_without_polling(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(publish_watch=PublishWatch("hook-1", wait_seconds=30))
    result = await run_with(skipping_env.client, fakes, request(), during=signal_publish_started)
    assert result.status == "completed"
    assert result.publish_confirmed_by == "webhook"
    assert fakes.polls == 0


async def test_without_a_webhook_the_run_polls_after_the_wait(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(publish_watch=PublishWatch("hook-1", wait_seconds=30), polls_before_started=2)
    result = await run_with(skipping_env.client, fakes, request())
    assert result.publish_confirmed_by == "polling"
    assert fakes.polls == 3


async def test_without_a_subscription_the_run_polls_at_once(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes()  # ensure_webhook answers PublishWatch(): no webhook, no wait
    result = await run_with(skipping_env.client, fakes, request())
    assert result.publish_confirmed_by == "polling"
    assert fakes.polls == 1


async def test_a_publish_never_seen_to_start_still_ends_in_a_listing(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = Fakes(polls_before_started=None)
    result = await run_with(skipping_env.client, fakes, request())
    assert result.status == "completed"
    assert result.publish_confirmed_by == "unconfirmed"
    assert fakes.polls == len(PUBLISH_POLL_DELAYS)
    assert "etsy.activate_listing" in fakes.calls


async def test_histories_from_before_webhooks_replay() -> None:
    """A run recorded by the workflow as it was before this step (no subscription, no
    wait, no polls) replays on the current code: `workflow.patched` keeps it valid."""
    path = HISTORIES / "design_to_listing_before_webhooks.json"
    history = WorkflowHistory.from_json("dtl-t1-before-webhooks", path.read_text())
    await Replayer(workflows=[DesignToListingWorkflow]).replay_workflow(history)


async def test_a_run_with_the_webhook_step_replays(skipping_env: WorkflowEnvironment) -> None:
    fakes = Fakes(publish_watch=PublishWatch("hook-1", wait_seconds=30), polls_before_started=1)
    captured: list[Any] = []

    async def keep(handle: Any) -> None:
        captured.append(handle)

    await run_with(skipping_env.client, fakes, request(), during=keep)
    history = await captured[0].fetch_history()
    await Replayer(workflows=[DesignToListingWorkflow]).replay_workflow(history)
