"""The Etsy rate benchmark's helpers (the benchmark itself runs with `make bench-etsy`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_etsy_rate.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_etsy_rate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_workers_get_the_rate_as_vendor_and_task_queue_limit(tmp_path: Path) -> None:
    env = load().worker_env(tmp_path, "postgresql://db", "127.0.0.1:7", "http://emu", 10.0)
    assert env["ETSY_RATE_PER_SECOND"] == env["INTEGRATION_ACTIVITIES_PER_SECOND"] == "10.0"
    assert env["ETSY_BASE_URL"] == "http://emu/etsy/v3"
    assert (env["DATABASE_URL"], env["TEMPORAL_ADDRESS"]) == ("postgresql://db", "127.0.0.1:7")
    assert env["POD_HOME"] == str(tmp_path)


def test_the_report_sets_what_the_emulator_saw_against_the_rate() -> None:
    result = {"count": 100, "refused": 0, "span": 10.04, "most_in_a_second": 10, "wall": 10.5}
    lines = load().report(result, calls=100, workers=2, rate=10.0).splitlines()
    assert lines[0].startswith("Etsy requests recorded:   100 for 100 calls (2 worker")
    assert lines[2] == "First to last call:       10.04 s (at 10/s no less than 9.90 s)"
    assert lines[3] == "Most calls in any second: 10 (limit 10)"
