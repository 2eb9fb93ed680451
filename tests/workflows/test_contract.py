"""The Temporal contract holds: every activity a worker serves is declared in
`workflows.contract` with its queue and payload types, and every declared one is served."""

from __future__ import annotations

from temporalio import activity

from tests.stack import WorkerSet
from workflows.contract import ACTIVITIES, QUEUES


def test_activity_names_are_unique_and_queues_known() -> None:
    names = [declared.name for declared in ACTIVITIES]
    assert len(names) == len(set(names)) == 38
    assert {declared.queue for declared in ACTIVITIES} <= set(QUEUES) - {"workflows"}


async def test_each_worker_serves_the_declared_activities_with_the_declared_types(
    workers: WorkerSet,
) -> None:
    served: dict[str | None, tuple[str, list[type], type | None]] = {}
    for queue, methods in workers.activities.items():
        for method in methods:
            definition = activity._Definition.must_from_callable(method)
            served[definition.name] = (queue, list(definition.arg_types or []), definition.ret_type)
    declared = {d.name: (d.queue, [d.input_type], d.result_type) for d in ACTIVITIES}
    assert served == declared
