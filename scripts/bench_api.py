"""`make bench-api`: the API's authenticated reads and its start route against bare
references, in one run (issue 15; a benchmark, not a timed test).

It starts the stack as a user does (`pod up -d`, a state dir and ports of its own, the
per-key rate limit raised so a 429 never counts), seeds it (runs waiting for approval,
listings made by the chain, a scrape's trends), starts the bare references
(`scripts/bench_bare.py`: `/hello`, one `SELECT 1` through a psycopg pool of 10 on the
same Postgres, and `start_workflow` on a task queue no worker polls, served with the same
uvicorn settings and number of processes), then drives each request with
`--connections` keep-alive connections for `--seconds`, `--rounds` times, with no think
time and again as users who wait `--think` seconds between requests; each round drives
every load once, so a request and its bare reference are measured close together. It
prints a table: the round of median throughput (its p50 and p95), errors and stalls of
all rounds, and each read's ratio to the bare `SELECT 1` of the same round, the median
over the rounds (each start's to the bare `start_workflow`). A stall is a 1 s window with no
answer, or an answer that took over 5 s. Starts ask for approval with fresh idempotency
keys while the workers are paused (SIGSTOP): an approval run writes its brief first,
and the chain must add no load while starts are measured.

The load comes from this process: h11 over asyncio streams, a few tens of microseconds
of CPU a request, on the same machine as the stack.

    python scripts/bench_api.py [--connections 50] [--seconds 10] [--rounds 3] [--think 1]
        [--processes 2] [--modes both|no-think|think] [--only TEXT] [--no-starts] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import h11
import httpx

from core.http_server import free_port

ROOT = Path(__file__).resolve().parents[1]
STALL_SECONDS = 5.0
# One request: method, target, extra headers, body. A load makes its n-th request with
# `Load(n)`: reads repeat one target, starts need a fresh idempotency key each time.
Request = tuple[str, str, list[tuple[str, str]], bytes]
Load = Callable[[int], Request]


def repeat(method: str, target: str) -> Load:
    return lambda _: (method, target, [], b"")


def starts(prefix: str) -> Load:
    """`POST /v1/workflows/design-to-listing` asking for approval (the chain stops before
    any image, so it adds no load), each with its own idempotency key."""
    body = json.dumps({"keyword": "bench start otter", "require_approval": True}).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]

    def make(n: int) -> Request:
        key = ("idempotency-key", f"{prefix}-{n}-{uuid.uuid4().hex[:12]}")
        return ("POST", "/v1/workflows/design-to-listing", [*headers, key], body)

    return make


@dataclass
class Outcome:
    """What one load saw: each answer's (end, latency, status), and failures."""

    seconds: float
    answers: list[tuple[float, float, int]] = field(default_factory=list)
    failures: int = 0

    def summary(self) -> dict[str, float]:
        latencies = sorted(latency for _, latency, _ in self.answers)
        errors = self.failures + sum(1 for *_, status in self.answers if status >= 400)
        windows = [0] * max(1, math.ceil(self.seconds))
        for end, _, _ in self.answers:
            windows[min(len(windows) - 1, int(end))] += 1
        slow = sum(1 for latency in latencies if latency > STALL_SECONDS)
        return {
            "rps": len(latencies) / self.seconds,
            "p50_ms": _percentile(latencies, 0.50) * 1000,
            "p95_ms": _percentile(latencies, 0.95) * 1000,
            "errors": errors,
            "stalls": sum(1 for count in windows if count == 0) + slow,
        }


def _percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


async def _connection(
    port: int,
    load: Load,
    headers: list[tuple[str, str]],
    start: int,
    connections: int,
    deadline: float,
    think: float,
    outcome: Outcome,
    t0: float,
) -> None:
    loop = asyncio.get_running_loop()
    turn = start
    if think:
        # Users arrive spread over one think time, not all in the same instant: in step,
        # fifty of them make a burst of fifty every second.
        await asyncio.sleep(think * start / connections)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h11.Connection(h11.CLIENT)
    try:
        while loop.time() < deadline:
            method, target, extra, body = load(turn)
            turn += connections
            began = loop.time()
            message = h11.Request(method=method, target=target, headers=[*headers, *extra])
            writer.write(
                conn.send(message)
                + (conn.send(h11.Data(data=body)) if body else b"")
                + conn.send(h11.EndOfMessage())
            )
            status = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data and conn.their_state is h11.CLOSED:
                        break
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
            ended = loop.time()
            if status:
                outcome.answers.append((ended - t0, ended - began, status))
            else:
                outcome.failures += 1
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is not h11.DONE:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                conn = h11.Connection(h11.CLIENT)
            else:
                conn.start_next_cycle()
            if think:
                await asyncio.sleep(think)
    finally:
        writer.close()


async def drive(
    port: int,
    load: Load,
    *,
    connections: int,
    seconds: float,
    think: float,
    token: str | None,
) -> dict[str, float]:
    """`connections` keep-alive connections making `load`'s requests for `seconds`."""
    headers = [("host", "bench"), ("accept", "application/json")]
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    outcome = Outcome(seconds)
    await asyncio.gather(
        *(
            _connection(port, load, headers, n, connections, t0 + seconds, think, outcome, t0)
            for n in range(connections)
        ),
        return_exceptions=False,
    )
    return outcome.summary()


# --- the stack and its seed -------------------------------------------------------------


def _environment(home: Path, processes: int = 1) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "TEMPORAL_", "PRINTIFY_", "ETSY_", "OPENAI_"))
    }
    env.update(
        POD_HOME=str(home),
        API_PORT=str(free_port()),
        TEMPORAL_PORT=str(free_port()),
        TEMPORAL_UI_PORT=str(free_port()),
        EMULATOR_PORT=str(free_port()),
        # A 429 would count as an error: the per-key rate is raised for the benchmark.
        API_RATE_PER_SECOND="1000000",
        API_RATE_BURST="1000000",
        TREND_SCRAPE_COOLDOWN_SECONDS="0",
        # The API's processes, and as many for the bare references.
        API_PROCESSES=str(processes),
    )
    return env


def _pod(env: dict[str, str], *args: str) -> None:
    subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "cli.main", *args], env=env, check=True, cwd=ROOT
    )


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise SystemExit(f"{what} within {seconds:.0f} s")


def api_client(port: int, token: str) -> httpx.Client:
    """A client of the stack's API with the development key."""
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def settle(api: httpx.Client) -> None:
    """Wait until nothing works in the background (a scrape's campaign, a brief before
    its approval): the loads measure the API alone."""

    def idle() -> bool:
        running = api.get("/v1/workflows", params={"status": "running"}).json()["count"]
        campaigns = api.get("/v1/campaigns", params={"status": "running"}).json()["count"]
        return bool(running == 0 and campaigns == 0)

    _wait(idle, 600, "the background work did not finish")
    time.sleep(5)


@contextmanager
def workers_paused(home: Path) -> Iterator[None]:
    """The stack's workers stopped (SIGSTOP) while starts are measured: a run that asks
    for approval still writes its brief first, and that chain work would load the
    machine the start route is measured on; the bare `start_workflow` reference starts
    runs no worker takes either. They go on (SIGCONT) afterwards."""
    children = json.loads((home / "run" / "supervisor.json").read_text())["children"]
    pids = [int(child["pid"]) for name, child in children.items() if name.startswith("worker-")]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def seed(api: httpx.Client) -> dict[str, str]:
    """Runs waiting for approval, three listings, a scrape's trends; the ids to read."""
    waiting = [
        api.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": f"bench otter {n}", "require_approval": True},
            headers={"Idempotency-Key": f"bench-wait-{n}"},
        ).json()["workflow_id"]
        for n in range(20)
    ]
    listed = [
        api.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": keyword},
            headers={"Idempotency-Key": f"bench-list-{n}"},
        ).json()["workflow_id"]
        for n, keyword in enumerate(("heron kayaking", "badger knitting", "puffin gardening"))
    ]
    api.post("/v1/trends/scrape", json={})

    def ready() -> bool:
        listings = api.get("/v1/listings").json()["count"]
        trends = api.get("/v1/trends", params={"limit": 1}).json()["count"]
        return bool(listings >= len(listed) and trends > 0)

    _wait(ready, 600, "the seed's listings and trends were not made")

    settle(api)
    nearest = api.get("/v1/trends", params={"limit": 1}).json()["data"][0]["id"]
    return {"workflow": waiting[0], "signal": nearest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument(
        "--processes", type=int, default=2, help="API processes (and bare references')"
    )
    parser.add_argument(
        "--modes", choices=("both", "no-think", "think"), default="both", help="which loads"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only the loads whose name contains TEXT (repeatable; bare references stay)",
    )
    parser.add_argument(
        "--no-starts",
        dest="starts",
        action="store_false",
        help="leave out the start route and its bare reference",
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="pod-bench-")) / "pod-home"
    env = _environment(home, args.processes)
    bare_port = free_port()
    bare: subprocess.Popen[bytes] | None = None
    try:
        _pod(env, "up", "-d")
        # Starts count against the plan (runs and the images they will make): the
        # benchmark's tenant gets quotas it cannot reach.
        _pod(
            env,
            "plan",
            "dev",
            "business",
            "--limit",
            "workflows_per_month=1000000000",
            "--limit",
            "images_per_month=1000000000",
        )
        token = (home / "dev-api-key").read_text().strip()
        api_port = int(env["API_PORT"])
        supervisor = json.loads((home / "run" / "supervisor.json").read_text())
        bare = subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, str(ROOT / "scripts" / "bench_bare.py"), str(bare_port)],
            env={**env, "DATABASE_URL": supervisor["database_url"]},
            cwd=ROOT,
        )
        with api_client(api_port, token) as api:
            ids = seed(api)
        _wait(lambda: _answers(bare_port), 60, "the bare references did not start")

        def read(name: str, target: str) -> tuple[str, int, str | None, Load]:
            return (f"GET {name}", api_port, token, repeat("GET", target))

        loads: list[tuple[str, int, str | None, Load]] = [
            ("bare /hello", bare_port, None, repeat("GET", "/hello")),
            ("bare SELECT 1 (pool of 10)", bare_port, None, repeat("GET", "/select1")),
            ("GET /healthz", api_port, None, repeat("GET", "/healthz")),
            read("/v1/workflows/{id}", f"/v1/workflows/{ids['workflow']}"),
            read("/v1/workflows?limit=20", "/v1/workflows?limit=20"),
            read("/v1/listings", "/v1/listings"),
            read("/v1/trends?limit=20", "/v1/trends?limit=20"),
            read("/v1/trends/{id}/similar", f"/v1/trends/{ids['signal']}/similar"),
        ]
        if args.starts:
            loads += [
                ("bare start_workflow", bare_port, None, repeat("POST", "/start")),
                ("POST /v1/workflows/design-to-listing", api_port, token, starts("bench")),
            ]
        if args.only:
            loads = [
                load
                for load in loads
                if load[0].startswith("bare ") or any(text in load[0] for text in args.only)
            ]
        results: dict[str, dict[str, list[dict[str, float]]]] = {}
        modes = [("no think time", 0.0), (f"{args.think:g} s think time", args.think)]
        if args.modes != "both":
            modes = [modes[0] if args.modes == "no-think" else modes[1]]
        # Rounds interleaved: each round drives every load once, so a request and its
        # bare reference are measured minutes apart at most, not a whole run apart (the
        # VM's speed drifted by 15 % between runs, and within one).
        for mode, think in modes:
            for _ in range(args.rounds):
                for name, port, key, load in loads:
                    starting = name.startswith("POST")
                    with workers_paused(home) if starting else nullcontext():
                        figures = asyncio.run(
                            drive(
                                port,
                                load,
                                connections=args.connections,
                                seconds=args.seconds,
                                think=think,
                                token=key,
                            )
                        )
                    results.setdefault(mode, {}).setdefault(name, []).append(figures)
                    print(f"{mode:>16} | {name:32} | {_line(figures)}", flush=True)  # noqa: T201
                    if starting:  # the runs just started write their briefs now
                        with api_client(api_port, token) as api:
                            settle(api)
        print("\n" + _table(results))  # noqa: T201
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(10)
        _pod(env, "down")
    return 0


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/select1", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _line(figures: dict[str, float]) -> str:
    return (
        f"{figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:7.1f} ms  "
        f"p95 {figures['p95_ms']:7.1f} ms  errors {figures['errors']:.0f}  "
        f"stalls {figures['stalls']:.0f}"
    )


def _table(results: dict[str, dict[str, list[dict[str, float]]]]) -> str:
    """Each read's median round, and the median of its ratios to the bare `SELECT 1`
    of the same mode and round (each start's to the bare `start_workflow`)."""
    lines = [
        "| mode | request | req/s | p50 ms | p95 ms | errors | stalls | req/s ÷ bare"
        " | p95 ÷ bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, loads in results.items():
        for name, rounds in loads.items():
            starting = name.startswith(("POST", "bare start"))
            reference = "bare start_workflow" if starting else "bare SELECT 1 (pool of 10)"
            bare = loads[reference]
            figures = _median(rounds)
            rps_ratio, p95_ratio = (_ratio(rounds, bare, figure) for figure in ("rps", "p95_ms"))
            errors = sum(r["errors"] for r in rounds)
            stalls = sum(r["stalls"] for r in rounds)
            lines.append(
                f"| {mode} | {name} | {figures['rps']:.0f} | {figures['p50_ms']:.1f} | "
                f"{figures['p95_ms']:.1f} | {errors:.0f} | {stalls:.0f} | "
                f"{rps_ratio:.2f} | {p95_ratio:.2f} |"
            )
    return "\n".join(lines)


def _ratio(rounds: list[dict[str, float]], bare: list[dict[str, float]], figure: str) -> float:
    """The median over the rounds of `figure` divided by the bare reference's that round."""
    return statistics.median(
        ours[figure] / reference[figure] for ours, reference in zip(rounds, bare, strict=True)
    )


def _median(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The round of median throughput (its own p50 and p95 with it)."""
    return sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]


if __name__ == "__main__":
    sys.exit(main())
