"""A worker reports our build (the package version and a digest of the replayed code)
instead of temporalio's default, which hashes every loaded module's bytecode at start."""

from __future__ import annotations

from importlib import metadata

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import _worker

from core.settings import Settings
from workers.runner import build_id, build_worker


def test_the_build_names_the_version_and_the_replayed_code() -> None:
    version, digest = build_id().split("+")
    assert version == metadata.version("pod-automator")
    assert len(digest) == 12 and int(digest, 16) >= 0


@activity.defn(name="build.probe")
async def probe() -> None:
    """An activity for the records queue's worker to register."""


@pytest.mark.parametrize("queue", ["workflows", "records"])
async def test_a_worker_starts_without_hashing_every_module(
    queue: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*, memoize: bool = True) -> str:
        raise AssertionError("the default build id walks every loaded module")

    monkeypatch.setattr(_worker, "load_default_build_id", refuse)
    monkeypatch.setattr(_worker, "_default_build_id", None)
    # A client of its own: the session's workers hold these queues on the session's.
    client = await Client.connect(settings.temporal_target)
    worker = build_worker(client, queue, [probe], settings)
    assert worker.config()["build_id"] == build_id()
