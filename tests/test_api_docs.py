"""The committed API reference (`docs/api/README.md`) matches `openapi.yaml`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "gen_api_docs.py"
CONTRACT = ROOT / "openapi.yaml"
COMMITTED = ROOT / "docs" / "api" / "README.md"


def _generate(output: Path) -> str:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--input", str(CONTRACT), "--output", str(output)],
        check=True,
        cwd=ROOT,
    )
    return output.read_text(encoding="utf-8")


def test_api_docs_match_the_contract(tmp_path: Path) -> None:
    assert CONTRACT.exists(), "openapi.yaml is missing: run `make docs`"
    assert COMMITTED.exists(), "docs/api/README.md is missing: run `make docs`"
    generated = _generate(tmp_path / "README.md")
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "docs/api/README.md is out of date: run `make docs`"
    )


def test_api_docs_are_deterministic_and_cover_every_operation(tmp_path: Path) -> None:
    import yaml

    first = _generate(tmp_path / "a.md")
    assert _generate(tmp_path / "b.md") == first
    spec = yaml.load(CONTRACT.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert f"### `{method.upper()} {path}`" in first
            assert f"`{operation['operationId']}`" in first
    for name in spec["components"]["schemas"]:
        assert f"### `{name}`" in first
