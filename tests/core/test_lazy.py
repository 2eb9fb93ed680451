"""Modules loaded on first use: a `pod` process without OpenAI or S3 settings does not
import their SDKs, and one that uses them gets the real module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.lazy import lazy_module
from tests.stack import unmeasured_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_runs_at_its_first_attribute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_probe.py").write_text(
        "import builtins\nbuiltins.lazy_probe_ran = True\nX = 7\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_probe", raising=False)
    import builtins

    module = lazy_module("lazy_probe")
    assert not hasattr(builtins, "lazy_probe_ran")
    assert module.X == 7
    assert getattr(builtins, "lazy_probe_ran", False) is True
    delattr(builtins, "lazy_probe_ran")
    assert lazy_module("lazy_probe") is module  # imported: the same object


def test_an_unknown_module_fails_at_once() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        lazy_module("no_such_module_here")


def test_a_worker_or_the_api_imports_no_openai_or_boto3_until_asked() -> None:
    probe = (
        "import sys, types, workers.runner, api.app\n"
        "def loaded(name):\n"
        "    module = sys.modules.get(name)\n"
        "    return module is not None and type(module) is types.ModuleType\n"
        "print(loaded('openai'), loaded('boto3'))\n"
        "from integrations.openai_provider import build_client\n"
        "client = build_client(api_key='k', base_url='http://127.0.0.1:9', timeout=1)\n"
        "print(loaded('openai'), type(client).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=unmeasured_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split("\n")
    assert out[:2] == ["False False", "True AsyncOpenAI"]
