"""The operator commands against the session's Postgres: each through `cli.main.main` in
this process, reading its settings from the environment as `pod` does, and one as an
operator runs it, in a process of its own."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from core.apikeys import KEY_PATTERN
from core.settings import Settings
from domain.plans import Limits, limits_for
from tests.cli.in_process import Pod, pod_in_process
from tests.stack import unmeasured_env


def pod_env(database_url: str, settings: Settings) -> dict[str, str]:
    """What an operator sets for these commands: the database, home and keys."""
    return {
        "DATABASE_URL": database_url,
        "POD_HOME": str(settings.home),
        "POD_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
    }


@pytest.fixture
def pod(
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Pod]:
    """`pod ARGS…` in-process with the operator's settings."""
    yield from pod_in_process(monkeypatch, capsys, pod_env(database_url, settings))


def test_tenant_plan_and_secrets_commands(pod: Pod) -> None:
    tenant = f"cli{uuid.uuid4().hex[:8]}"
    code, out, err = pod("tenant", tenant, "--name", "CLI Shop", "--owner-email", "A@B.test")
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert KEY_PATTERN.match(key), out

    # Uncaught, as in `pod`: the process ends non-zero with the message.
    with pytest.raises(ValueError, match="already exists"):
        pod("tenant", tenant, "--name", "X", "--owner-email", "c@d.e")

    assert pod("tenant", "no spaces!", "--name", "X", "--owner-email", "e@f")[0] == 2

    code, out, err = pod("plan", tenant, "free")
    assert code == 0, err
    assert "free" in out
    code, _, err = pod("plan", f"none{uuid.uuid4().hex[:6]}", "pro")
    assert code == 1 and "not found" in err

    code, out, _ = pod("secrets", "new-key")
    assert code == 0 and re.fullmatch(r"[A-Za-z0-9_-]{43}=\n", out)
    code, out, err = pod("secrets", "rotate")
    assert code == 0, err
    assert re.match(r"re-encrypted \d+ integrations", out)


def test_plan_limits_of_a_tenants_own(pod: Pod, database_url: str) -> None:
    """`pod plan … --limit NAME=N`: an operator's override of single limits (the
    benchmark lifts its tenant's monthly workflows this way)."""
    tenant = f"lim{uuid.uuid4().hex[:8]}"
    assert pod("tenant", tenant, "--name", "L", "--owner-email", "l@m.test")[0] == 0

    code, _, err = pod("plan", tenant, "business", "--limit", "workflows_per_month=123456")
    assert code == 0, err
    code, _, err = pod("plan", tenant, "business", "--limit", "images_per_month=7")
    assert code == 0, err
    assert _plan(database_url, tenant) == Limits(
        seats=25, workflows_per_month=123456, images_per_month=7, schedules=50
    )

    code, _, err = pod("plan", tenant, "pro", "--limit", "rockets=3")
    assert code == 1 and "no such limit: rockets" in err
    code, _, err = pod("plan", tenant, "pro", "--limit", "seats=-1")
    assert code == 1 and "NAME=N" in err
    assert _plan(database_url, tenant).seats == 25  # nothing changed: still business


def _plan(database_url: str, tenant: str) -> Limits:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT plan, limits FROM tenants WHERE id = %s", (tenant,)).fetchone()
    assert row is not None
    return limits_for(row[0], row[1])


def test_pod_tenant_as_its_own_process(database_url: str, settings: Settings) -> None:
    """The command as an operator runs it: settings from the environment, a tenant in
    Postgres, its key on stdout."""
    tenant = f"proc{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        [sys.executable, "-m", "cli.main", "tenant", tenant, "--name", "P", "--owner-email", "p@q"],
        env=unmeasured_env(**pod_env(database_url, settings)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert KEY_PATTERN.match(created.stdout.strip().splitlines()[-1]), created.stdout


def test_search_attributes_command(
    pod: Pod, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the session's dev server, started with them, there is nothing to add; with no
    Temporal it says so."""
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    code, _, err = pod("search-attributes")
    assert code == 1 and "cannot reach Temporal at 127.0.0.1:1" in err
    monkeypatch.setenv("TEMPORAL_ADDRESS", settings.temporal_target)
    code, out, err = pod("search-attributes")
    assert (code, out.strip()) == (0, "all registered already"), err
