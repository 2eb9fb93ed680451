"""Workers for the workflow tests: the workflows on their queue, fakes on theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from workers.runner import build_id
from workflows.contract import QUEUES


@asynccontextmanager
async def serving(
    client: Client,
    workflows: Sequence[type],
    by_queue: dict[str, list[Callable[..., Any]]],
    interceptors: Sequence[Interceptor] = (),
) -> AsyncIterator[None]:
    """Serve `workflows` on the workflows queue and each queue's fake activities."""
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            Worker(
                client,
                task_queue=QUEUES["workflows"],
                workflows=list(workflows),
                activities=bookkeeping(by_queue),
                interceptors=interceptors,
                build_id=build_id(),
            )
        )
        for queue, activities in by_queue.items():
            await stack.enter_async_context(
                Worker(
                    client,
                    task_queue=QUEUES[queue],
                    activities=activities,
                    build_id=build_id(),
                )
            )
        yield


def bookkeeping(by_queue: dict[str, list[Callable[..., Any]]]) -> list[Callable[..., Any]]:
    """The records queue's fakes of the runs' bookkeeping, which the workflow worker runs
    as local activities (the records queue keeps them for runs begun before)."""
    return [act for act in by_queue.get("records", []) if act.__name__ in BOOKKEEPING]


BOOKKEEPING = ("update_run", "meter_usage")


def merged(*queues: dict[str, list[Callable[..., Any]]]) -> dict[str, list[Callable[..., Any]]]:
    """Several fakes' activities by queue, in one map."""
    result: dict[str, list[Callable[..., Any]]] = {}
    for by_queue in queues:
        for queue, activities in by_queue.items():
            result.setdefault(queue, []).extend(activities)
    return result
