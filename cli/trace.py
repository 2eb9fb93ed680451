"""`pod trace WORKFLOW_ID`: the run's trace from the embedded stack's span files, one span
a line, indented under its parent, with its duration, process and error.

The trace shown is the one that started the workflow (the API request's); the other
traces that touched it (status polls, webhook signals) are counted at the end. A span's
database statements are folded into one line under it unless `--all` is given.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from core.settings import Settings
from core.telemetry import traces_dir

WORKFLOW_ATTRIBUTE = "temporalWorkflowID"  # set by temporalio's tracing on its spans
_STARTS = ("StartWorkflow:", "SignalWithStartWorkflow:")


@dataclass
class SpanLine:
    """One exported span, as `pod trace` shows it."""

    span_id: str
    parent_id: str | None
    trace_id: str
    name: str
    service: str
    start: datetime
    end: datetime
    error: str | None
    attributes: dict[str, Any]
    children: list[SpanLine] = field(default_factory=list)

    @classmethod
    def of(cls, data: dict[str, Any]) -> SpanLine:
        status = data.get("status") or {}
        error = None
        if status.get("status_code") == "ERROR":
            error = status.get("description") or "error"
        return cls(
            span_id=data["context"]["span_id"],
            parent_id=data.get("parent_id"),
            trace_id=data["context"]["trace_id"],
            name=data["name"],
            service=data.get("resource", {}).get("attributes", {}).get("service.name", "?"),
            start=datetime.fromisoformat(data["start_time"]),
            end=datetime.fromisoformat(data["end_time"]),
            error=error,
            attributes=data.get("attributes") or {},
        )

    @property
    def milliseconds(self) -> float:
        return (self.end - self.start).total_seconds() * 1000

    @property
    def is_statement(self) -> bool:
        return "db.system" in self.attributes


def _lines_with(directory: Path, needle: str) -> Iterator[dict[str, Any]]:
    """Spans whose exported line contains `needle` (a cheap test before parsing)."""
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if needle in line:
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line still being written


def find_trace(directory: Path, workflow_id: str) -> tuple[list[SpanLine], dict[str, int]]:
    """The spans of the trace that started `workflow_id`, and what the other traces that
    touched it did (`{"QueryWorkflow:state": 11}`)."""
    touching = [
        span
        for span in _lines_with(directory, workflow_id)
        if (span.get("attributes") or {}).get(WORKFLOW_ATTRIBUTE) == workflow_id
    ]
    if not touching:
        return [], {}
    starts = [span for span in touching if span["name"].startswith(_STARTS)]
    first = min(starts or touching, key=lambda span: span["start_time"])
    trace_id = first["context"]["trace_id"]
    others: dict[str, int] = defaultdict(int)
    for span in touching:
        if span["context"]["trace_id"] != trace_id and not span["name"].startswith("Handle"):
            others[span["name"]] += 1
    spans = {
        span["context"]["span_id"]: SpanLine.of(span)
        for span in _lines_with(directory, trace_id)
        if span["context"]["trace_id"] == trace_id
    }
    return list(spans.values()), dict(others)


def span_tree(spans: Iterable[SpanLine]) -> list[SpanLine]:
    """The roots, each with its children in start order."""
    by_id = {span.span_id: span for span in spans}
    roots: list[SpanLine] = []
    for span in by_id.values():
        parent = by_id.get(span.parent_id or "")
        (parent.children if parent is not None else roots).append(span)
    for span in by_id.values():
        span.children.sort(key=lambda child: child.start)
    return sorted(roots, key=lambda root: root.start)


def render(roots: list[SpanLine], *, show_statements: bool = False) -> Iterator[str]:
    """One line a span: indent, name, duration, process, error."""

    def walk(span: SpanLine, depth: int) -> Iterator[str]:
        error = f"  ERROR {span.error}" if span.error else ""
        yield f"{'  ' * depth}{span.name}  {span.milliseconds:.1f} ms  [{span.service}]{error}"
        statements = [child for child in span.children if child.is_statement]
        for child in span.children:
            if show_statements or not child.is_statement:
                yield from walk(child, depth + 1)
        if statements and not show_statements:
            total = sum(child.milliseconds for child in statements)
            failed = sum(1 for child in statements if child.error)
            note = f", {failed} failed" if failed else ""
            yield (
                f"{'  ' * (depth + 1)}· {len(statements)} database statement"
                f"{'s' if len(statements) != 1 else ''}, {total:.1f} ms{note}"
            )

    for root in roots:
        yield from walk(root, 0)


def show_trace(
    settings: Settings,
    workflow_id: str,
    *,
    show_statements: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    directory = traces_dir(settings)
    spans, others = find_trace(directory, workflow_id) if directory.is_dir() else ([], {})
    if not spans:
        print(
            f"no spans of {workflow_id} in {directory}: tracing is off, the run is older than"
            " TRACE_RETENTION_DAYS, or spans go to an OTLP collector (see its trace viewer)",
            file=sys.stderr,
        )
        return 1
    roots = span_tree(spans)
    try:
        print(f"trace {spans[0].trace_id.removeprefix('0x')}  ({len(spans)} spans)", file=out)
        for line in render(roots, show_statements=show_statements):
            print(line, file=out)
        if others:
            listed = ", ".join(f"{count} x {name}" for name, count in sorted(others.items()))
            print(f"in other traces: {listed}", file=out)
    except BrokenPipeError:
        # The reader went away (`pod trace … | head`): nothing more to print, and no
        # traceback. What is left in the buffer goes nowhere rather than fail at exit.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
