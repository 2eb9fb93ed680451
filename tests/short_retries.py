"""A test-only worker interceptor: the workflows' activity retries come quickly.

The production policies (`workflows/policies.py`) wait seconds to a minute between
attempts, which is right for vendors and wasted time in a test that injects the faults
itself. Only the waits shrink: the attempts allowed, the errors that are not retried,
the timeouts and a vendor's `Retry-After` (an error's `next_retry_delay`) stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)


@dataclass(frozen=True)
class ShortRetries(Interceptor):
    """First retry after at most `first`, later ones at most `longest` apart."""

    first: timedelta = timedelta(milliseconds=100)
    longest: timedelta = timedelta(seconds=1)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        shorten = self._shorten

        class Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
                return super().start_activity(shorten(input))

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        return Inbound

    def _shorten(self, input: StartActivityInput) -> StartActivityInput:
        policy = input.retry_policy
        if policy is not None:
            input.retry_policy = replace(
                policy,
                initial_interval=min(policy.initial_interval, self.first),
                maximum_interval=min(policy.maximum_interval or self.longest, self.longest),
            )
        return input
