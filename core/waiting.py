"""What an activity is waiting on right now, for its heartbeats to say.

The worker's heartbeat loop (`activities.heartbeat`) opens a `Waiting` per attempt; the
code the activity runs marks each slow wait with `waiting_on("printify GET /v1/…")` (the
vendor client does so for every call and every rate-limit turn). The heartbeat carries
the note, and Temporal shows it as the pending activity's heartbeat details: an operator
reads which call a stuck run is on, and for how long (issue 17).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Waiting:
    """The wait in progress of one activity attempt (one mutable object: the activity's
    task, a copy of the context, marks it; the heartbeat loop reads it)."""

    what: str | None = None
    since: float = 0.0

    def note(self, default: str) -> str:
        """`printify GET /v1/shops.json for 12 s`, or `default` between waits."""
        if self.what is None:
            return default
        return f"{self.what} for {time.monotonic() - self.since:.0f} s"


_CURRENT: ContextVar[Waiting | None] = ContextVar("pod_waiting", default=None)


def current_waiting() -> Waiting | None:
    return _CURRENT.get()


def watch() -> Waiting:
    """A new `Waiting` for the code run from this context on (tasks made after copy it)."""
    waiting = Waiting()
    _CURRENT.set(waiting)
    return waiting


@contextmanager
def waiting_on(what: str) -> Iterator[None]:
    """Mark a wait (a vendor call, a turn of a rate limit) for the heartbeats to report;
    nothing happens outside a watched activity."""
    waiting = _CURRENT.get()
    if waiting is None:
        yield
        return
    before = (waiting.what, waiting.since)
    waiting.what, waiting.since = what, time.monotonic()
    try:
        yield
    finally:
        waiting.what, waiting.since = before
