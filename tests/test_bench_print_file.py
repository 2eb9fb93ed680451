"""The print-file benchmark, run small so it cannot rot (`make bench-print-file` runs it at
4500x5400; ADR 0022 has the numbers). No time is asserted here."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageChops

from integrations import printfile
from tests.test_bench_trend_similar import load_script

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_print_file.py"


def test_ours_and_the_reference_differ_only_in_the_encoding() -> None:
    bench = load_script(SCRIPT)
    for artwork in (bench.local_artwork(96), bench.photo_artwork(96)):
        made = printfile.make_print_file(artwork, width=450, height=540)
        ours = Image.open(io.BytesIO(made.data))
        bare = Image.open(io.BytesIO(bench.bare_print_file(artwork, 450, 540)))
        assert ours.size == bare.size == (450, 540)
        assert ImageChops.difference(ours, bare).getbbox() is None  # the same pixels


def test_a_small_run_reports_every_kind() -> None:
    bench = load_script(SCRIPT)
    results = bench.run(width=300, height=360, repeat=1, side=64)
    assert [r.kind for r in results] == ["local", "photo", "sharp"]
    assert all(r.ours_s > 0 and r.bare_s > 0 and r.ours_bytes > 0 for r in results)
    text = bench.report(results, 300, 360)
    assert text.splitlines()[0].startswith("print file 300x360")
    assert "median time ratio" in text.splitlines()[-1]
