"""`make bench-chains`: N whole chains at once on the embedded stack (issue 15; a
benchmark, not a timed test).

It starts the stack as a user does (`pod up -d`, a state dir and ports of its own, the
tenant's monthly quota lifted), makes one listing first to warm every process up, then
starts `--runs` design-to-listing runs at once (no approval, each keyword its own) and
waits until every one has ended. It reports listings per minute, the CPU-seconds per
listing of every stack process but the emulators (the API and its processes, the
workers, the Temporal server, Postgres and its backends), the CPU of each of them, and
the time per stage: each activity type's median and p95 from being scheduled to
completing (queue wait included) and from starting to completing, read from the runs'
Temporal histories.

    .venv/bin/python scripts/bench_chains.py [--runs 20] [--processes 2] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from core.embedded import postgres_pid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import _environment, _pod, _wait, api_client

ANIMALS = ("otter", "heron", "badger", "puffin", "lynx", "walrus", "gecko", "bison")
HOBBIES = ("kayaking", "knitting", "gardening", "baking", "hiking", "fishing", "chess")


def keywords(count: int, prefix: str) -> list[str]:
    pairs = [f"{animal} {hobby}" for hobby in HOBBIES for animal in ANIMALS]
    return [f"{prefix} {pairs[n % len(pairs)]}" for n in range(count)]


def stack_processes(home: Path) -> dict[str, list[psutil.Process]]:
    """Every process of the stack by role, each with its live descendants; not the
    emulators (they stand in for Printify and Etsy)."""
    state = json.loads((home / "run" / "supervisor.json").read_text())
    roots = {name: child["pid"] for name, child in state["children"].items()}
    roots.pop("emulators", None)
    roots["temporal"] = state["temporal"]["pid"]
    postgres = postgres_pid(home / "postgres")
    if postgres is not None:
        roots["postgres"] = postgres
    tree: dict[str, list[psutil.Process]] = {}
    for name, pid in roots.items():
        root = psutil.Process(pid)
        tree[name] = [root, *root.children(recursive=True)]
    return tree


def cpu_seconds(home: Path) -> dict[str, float]:
    """CPU-seconds so far per role: each live process's own and its reaped children's
    (a Postgres backend that ended is in the postmaster's children's time)."""
    totals: dict[str, float] = {}
    for name, processes in stack_processes(home).items():
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
        totals[name] = total
    return totals


def start(api: httpx.Client, keyword: str, key: str) -> str:
    answer = api.post(
        "/v1/workflows/design-to-listing",
        json={"keyword": keyword},
        headers={"Idempotency-Key": key},
    )
    answer.raise_for_status()
    workflow_id: str = answer.json()["workflow_id"]
    return workflow_id


def ended(api: httpx.Client, workflow_ids: list[str]) -> dict[str, str]:
    """The runs of `workflow_ids` that have ended, with their status: one page of the
    newest runs a poll (a read per run would load the API the benchmark measures)."""
    page = api.get("/v1/workflows", params={"limit": 100}).json()["data"]
    wanted = set(workflow_ids)
    return {
        run["workflow_id"]: run["status"]
        for run in page
        if run["workflow_id"] in wanted and run["status"] not in ("running", "awaiting_approval")
    }


async def stage_times(temporal_port: int, workflow_ids: list[str]) -> dict[str, dict[str, float]]:
    """Per activity type: median and p95 seconds from scheduled to completed (queue wait
    included) and from started to completed, over every run's history."""
    client = await Client.connect(f"127.0.0.1:{temporal_port}")
    total: dict[str, list[float]] = defaultdict(list)
    running: dict[str, list[float]] = defaultdict(list)
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        scheduled: dict[int, tuple[str, float]] = {}
        started: dict[int, float] = {}
        for event in history.events:
            at = event.event_time.ToDatetime().timestamp()
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                name = event.activity_task_scheduled_event_attributes.activity_type.name
                scheduled[event.event_id] = (name, at)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                started[event.activity_task_started_event_attributes.scheduled_event_id] = at
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attributes = event.activity_task_completed_event_attributes
                name, queued_at = scheduled[attributes.scheduled_event_id]
                total[name].append(at - queued_at)
                running[name].append(at - started.get(attributes.scheduled_event_id, queued_at))
    return {
        name: {
            "count": len(seconds),
            "median_s": statistics.median(seconds),
            "p95_s": _p95(seconds),
            "running_median_s": statistics.median(running[name]),
        }
        for name, seconds in sorted(total.items(), key=lambda item: -statistics.median(item[1]))
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, choices=range(1, 100), metavar="1..99")
    parser.add_argument("--processes", type=int, default=2, help="API processes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="pod-chains-")) / "pod-home"
    env = _environment(home, args.processes)
    try:
        _pod(env, "up", "-d")
        _pod(env, "plan", "dev", "business", "--limit", "workflows_per_month=1000000000")
        _pod(env, "plan", "dev", "business", "--limit", "images_per_month=1000000000")
        token = (home / "dev-api-key").read_text().strip()
        with api_client(int(env["API_PORT"]), token) as api:
            warm = start(api, "warm up otter", "chains-warm-up")
            _wait(lambda: bool(ended(api, [warm])), 600, "the warm-up run did not end")

            before = cpu_seconds(home)
            began = time.monotonic()
            ids = [
                start(api, keyword, f"chains-{n}")
                for n, keyword in enumerate(keywords(args.runs, "chain"))
            ]
            _wait(lambda: len(ended(api, ids)) == len(ids), 1800, "the runs did not end")
            wall = time.monotonic() - began
            after = cpu_seconds(home)
            statuses = ended(api, ids)
        stages = asyncio.run(stage_times(int(env["TEMPORAL_PORT"]), ids))
    finally:
        _pod(env, "down")

    completed = sum(1 for status in statuses.values() if status == "completed")
    cpu = {name: after[name] - before.get(name, 0.0) for name in after}
    figures = {
        "runs": args.runs,
        "completed": completed,
        "wall_s": wall,
        "listings_per_minute": completed / wall * 60,
        "cpu_s": sum(cpu.values()),
        "cpu_s_per_listing": sum(cpu.values()) / max(completed, 1),
        "cpu_s_by_process": dict(sorted(cpu.items(), key=lambda item: -item[1])),
        "stages": stages,
        "statuses": sorted(set(statuses.values())),
    }
    print(_report(figures))  # noqa: T201
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if completed == args.runs else 1


def _report(figures: dict[str, object]) -> str:
    cpu: dict[str, float] = figures["cpu_s_by_process"]  # type: ignore[assignment]
    stages: dict[str, dict[str, float]] = figures["stages"]  # type: ignore[assignment]
    lines = [
        f"{figures['completed']} of {figures['runs']} runs listed in {figures['wall_s']:.1f} s:"
        f" {figures['listings_per_minute']:.1f} listings/min,"
        f" {figures['cpu_s_per_listing']:.2f} CPU-s per listing"
        f" ({figures['cpu_s']:.1f} CPU-s, emulators excluded)",
        "",
        "| process | CPU-s | per listing |",
        "|---|---|---|",
    ]
    completed = max(int(figures["completed"]), 1)  # type: ignore[call-overload]
    lines += [
        f"| {name} | {seconds:.1f} | {seconds / completed:.2f} |" for name, seconds in cpu.items()
    ]
    lines += [
        "",
        "| activity | count | median s | p95 s | running median s |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {s['count']:.0f} | {s['median_s']:.2f} | {s['p95_s']:.2f} |"
        f" {s['running_median_s']:.2f} |"
        for name, s in stages.items()
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
