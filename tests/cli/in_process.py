"""`pod ARGS…` run in the test's process, where coverage measures it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping

import pytest

from cli.main import main

Pod = Callable[..., tuple[int, str, str]]


def pod_in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: Mapping[str, str],
    unset: tuple[str, ...] = (),
) -> Iterator[Pod]:
    """For a fixture to yield from: `env` set and the variables starting with `unset`
    removed (`pod` reads its settings from the environment); each call returns (exit
    code, stdout, stderr). `main` sets up the root logger as a `pod` process does; it is
    put back afterwards."""
    for key in [key for key in os.environ if unset and key.startswith(unset)]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
    root.handlers[:], root.level = handlers, level
