"""The similar-signals benchmark, run small so it cannot rot (`make bench-trends` runs it
at 100 000 signals; ADR 0017 has the numbers). No latency is asserted here."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

from models import repositories

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_trend_similar.py"


def load() -> ModuleType:
    return load_script(SCRIPT)


def load_script(script: Path) -> ModuleType:
    """A script under `scripts/` as a module (they are not a package)."""
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_vectors_are_unit_length_and_as_close_as_e5_keywords() -> None:
    bench = load()
    vectors = bench.clustered_embeddings(400, 2, np.random.default_rng(1))
    assert vectors.shape == (400, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    values = (vectors @ vectors.T)[np.triu_indices(400, k=1)]
    # Two clusters: a pair is either of one cluster (~0.94) or unrelated (~0.78).
    same, unrelated = values[values > 0.86], values[values <= 0.86]
    assert 0.92 < same.mean() < 0.96 and 0.74 < unrelated.mean() < 0.82
    assert 0.4 < len(same) / len(values) < 0.6


def test_percentiles_are_nearest_rank() -> None:
    bench = load()
    values = [float(n) for n in range(1, 101)]
    assert (bench.percentile(values, 0.5), bench.percentile(values, 0.95)) == (50.0, 95.0)
    assert bench.percentile([7.0], 0.99) == 7.0


def test_a_small_run_reports_and_walks_the_hnsw_index(tmp_path: Path) -> None:
    """6 000 signals: at 3 000 the planner still prefers sorting the tenant's rows."""
    bench = load()
    result = bench.bench(tmp_path, signals=6_000, other=1_000, requests=50)
    assert all(len(values) == 50 for values in result.timings.values())
    assert result.recall > 0.9
    text = bench.report(result)
    assert "Index Scan using ix_trend_signals_embedding_hnsw on trend_signals" in text, text
    before_the_walk = result.plan.split("Index Scan using ix_trend_signals_embedding")[0]
    assert "Sort" not in before_the_walk and "InitPlan" in before_the_walk, result.plan
    assert "p95 of GET /v1/trends/{id}/similar < 20 ms: " in text
    assert "6000 of tenant 'bench'" in text and "1000 of 'bench-other'" in text
    iterative_scan = repositories.trends.ITERATIVE_SCAN  # as every connection of the app has it
    assert "pgvector 0." in text and f"hnsw.iterative_scan={iterative_scan}," in text
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()  # stopped again


def test_the_timed_sql_asks_for_the_columns_the_route_reads() -> None:
    bench = load()
    signal_id = uuid.uuid4()
    statement, params = bench.nearest_statement(SimpleNamespace(ids=[signal_id]), 0)
    selected = statement.split(" FROM trend_signals")[0]
    assert "trend_signals.keyword," in selected and "trend_signals.embedding_model," in selected
    assert "trend_signals.embedding," not in selected  # 384 floats a row the route never reads
    assert signal_id in params.values() and bench.LIMIT + 1 in params.values()
