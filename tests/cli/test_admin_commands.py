"""The operator commands as an operator runs them, against the session's Postgres."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

from core.apikeys import KEY_PATTERN
from core.settings import Settings


def pod(database_url: str, settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "POD_HOME": str(settings.home),
        "POD_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_tenant_plan_and_secrets_commands(database_url: str, settings: Settings) -> None:
    tenant = f"cli{uuid.uuid4().hex[:8]}"
    created = pod(
        database_url, settings, "tenant", tenant, "--name", "CLI Shop", "--owner-email", "A@B.test"
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert KEY_PATTERN.match(key), created.stdout

    again = pod(database_url, settings, "tenant", tenant, "--name", "X", "--owner-email", "c@d.e")
    assert again.returncode != 0 and "already exists" in again.stderr

    bad = pod(database_url, settings, "tenant", "no spaces!", "--name", "X", "--owner-email", "e@f")
    assert bad.returncode == 2

    moved = pod(database_url, settings, "plan", tenant, "free")
    assert moved.returncode == 0, moved.stderr
    assert "free" in moved.stdout
    missing = pod(database_url, settings, "plan", f"none{uuid.uuid4().hex[:6]}", "pro")
    assert missing.returncode == 1 and "not found" in missing.stderr

    new_key = pod(database_url, settings, "secrets", "new-key")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=\n", new_key.stdout)
    rotated = pod(database_url, settings, "secrets", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert re.match(r"re-encrypted \d+ integrations", rotated.stdout)
