"""The deployment files and the README stay in step with the code.

`docker-compose.temporal.yml` must run a worker for every task queue and give every
service of the app image the addresses it needs; the README's settings table must name
every setting's environment variable, so neither can drift from `core.settings`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from workflows.contract import QUEUES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.temporal.yml"
README = ROOT / "README.md"
APP_IMAGE = "pod-automator"


def env_names() -> set[str]:
    """The environment variable of every setting: its alias, else the upper-case name."""
    return {(field.alias or name).upper() for name, field in Settings.model_fields.items()}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def command_of(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # the `- NAME=value` form
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return dict(environment)


def uses_app_image(service: dict[str, Any]) -> bool:
    return str(service.get("image", "")).startswith(APP_IMAGE) or "build" in service


def test_every_queue_has_a_worker_service(services: dict[str, dict[str, Any]]) -> None:
    for queue in QUEUES:
        runners = [
            name
            for name, service in services.items()
            if re.search(rf"(^|\s)worker\s+--queue\s+{queue}(\s|$)", command_of(service))
        ]
        assert runners, f"no service runs `pod worker --queue {queue}`"
        assert all(uses_app_image(services[name]) for name in runners)


def test_the_platform_services_exist(services: dict[str, dict[str, Any]]) -> None:
    images = {name: str(service.get("image", "")) for name, service in services.items()}
    assert any(image.startswith("temporalio/auto-setup") for image in images.values())
    assert any(image.startswith("temporalio/ui") for image in images.values())
    assert any(image.startswith("pgvector/pgvector") for image in images.values())
    assert any("minio" in image for image in images.values()), "no S3-compatible storage"
    assert "api" in services and command_of(services["api"]).split()[0] == "api"
    assert environment_of(services["api"]).get("API_HOST") == "0.0.0.0"
    assert command_of(services["migrate"]) == "migrate"


def test_temporal_persists_in_postgres(services: dict[str, dict[str, Any]]) -> None:
    temporal = next(
        s for s in services.values() if str(s.get("image", "")).startswith("temporalio/auto-setup")
    )
    environment = environment_of(temporal)
    assert environment["DB"] in {"postgres12", "postgres12_pgx"}
    seed = environment["POSTGRES_SEEDS"]
    assert seed in services and str(services[seed]["image"]).startswith("postgres")
    assert "temporal-db" in str(temporal.get("depends_on", {}))


def test_every_app_service_knows_its_database_and_temporal(
    services: dict[str, dict[str, Any]],
) -> None:
    app_services = {name: s for name, s in services.items() if uses_app_image(s)}
    assert {"api", "migrate"} <= set(app_services)
    for name, service in app_services.items():
        environment = environment_of(service)
        assert environment.get("DATABASE_URL", "").startswith("postgresql://"), name
        assert environment.get("TEMPORAL_ADDRESS") == "temporal:7233", name
        assert environment.get("ENVIRONMENT") == "production", name


def test_app_environment_names_are_settings(services: dict[str, dict[str, Any]]) -> None:
    """A typo in a variable name would silently fall back to a default."""
    known = env_names()
    for name, service in services.items():
        if uses_app_image(service):
            unknown = set(environment_of(service)) - known
            assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"


def readme_settings_table() -> set[str]:
    """First-column names of the table under the README's `## Settings` heading."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Settings\b.*?$(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README.md has no `## Settings` section"
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", match.group(1), re.M))


def test_readme_documents_every_setting() -> None:
    documented = readme_settings_table()
    expected = env_names()
    assert expected - documented == set(), "settings missing from README"
    assert documented - expected == set(), "README documents settings that do not exist"


def test_aliases_are_the_documented_exceptions() -> None:
    aliased = {f.alias for f in Settings.model_fields.values() if f.alias}
    assert {"POD_HOME", "POD_BLOCKLIST_FILE", "POD_IMAGE_PROVIDER_DELAY"} <= aliased
