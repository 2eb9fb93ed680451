"""`pod openapi`: the committed contract matches the app, and drift is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_matches_the_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)  # `pod openapi --check` reads ./openapi.yaml
    assert main(["openapi", "--check"]) == 0, capsys.readouterr().err


def test_drift_is_reported_and_fixed(tmp_path: Path) -> None:
    target = tmp_path / "openapi.yaml"
    target.write_text("openapi: 3.1.0\n")
    assert main(["openapi", "--check", "--output", str(target)]) == 1
    assert main(["openapi", "--output", str(target)]) == 0
    assert main(["openapi", "--check", "--output", str(target)]) == 0
    assert "/v1/workflows/design-to-listing" in target.read_text()
