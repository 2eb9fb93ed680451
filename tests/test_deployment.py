"""The deployment files and the README stay in step with the code.

`docker-compose.temporal.yml` must run a worker for every task queue and give every
service of the app image the addresses it needs; the README's settings table must name
every setting's environment variable, so neither can drift from `core.settings`.

The compose file is also checked against the Compose specification's JSON schema,
`tests/data/compose-spec.json`: a copy of `schema/compose-spec.json` of the GitHub
repository compose-spec/compose-spec at commit 00655e2222608fa6eaecdf12ac5195889ca2244a
(replace the file with a newer copy of the same path to follow the specification). Its
observability files (`deploy/`) must agree with it: Prometheus scrapes the services the
compose file runs, Grafana's dashboard uses the provisioned datasource and only metrics the
app exports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from core.settings import Settings
from workflows.contract import QUEUES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.temporal.yml"
README = ROOT / "README.md"
COMPOSE_SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
DEPLOY = ROOT / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus.yml"
GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "pod-automator.json"
APP_IMAGE = "pod-automator"
# Variables the OpenTelemetry SDK reads itself (not settings of ours).
SDK_ENV_PREFIXES = ("OTEL_",)
WORKER_METRICS_PORT = 9464

# Every metric the app exports (API `/metrics`, workers on port 9464), without the
# `_bucket` / `_sum` / `_count` series of its histograms.
API_METRICS = {
    "http_server_requests_total",
    "http_server_request_duration_seconds",
    "pod_figures_up",
    "pod_runs_started_total",
    "pod_runs_finished_total",
    "pod_runs_active",
    "pod_listings_created_total",
    "pod_model_calls_total",
    "pod_model_cost_usd_total",
}
WORKER_METRICS = {
    "pod_vendor_calls_total",
    "pod_vendor_call_duration_seconds",
    "temporal_activity_execution_latency_seconds",
    "temporal_activity_schedule_to_start_latency_seconds",
    "temporal_workflow_completed_total",
    "temporal_worker_task_slots_available",
    "temporal_request_total",
}
HISTOGRAMS = {
    "http_server_request_duration_seconds",
    "pod_vendor_call_duration_seconds",
    "temporal_activity_execution_latency_seconds",
    "temporal_activity_schedule_to_start_latency_seconds",
}
KNOWN_METRICS = (
    API_METRICS
    | WORKER_METRICS
    | {f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
)
PROMQL_FUNCTIONS = {
    "sum",
    "rate",
    "increase",
    "histogram_quantile",
    "by",
    "max",
    "avg",
    "count",
    "topk",
    "clamp_min",
}


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


def image_of(services: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    found = [s for s in services.values() if str(s.get("image", "")).startswith(prefix)]
    assert found, f"no service runs {prefix}"
    return found[0]


def long_running(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services that stay up: every one but the one-shots (`restart: "no"`)."""
    return {name: s for name, s in services.items() if str(s.get("restart")) != "no"}


def worker_services(services: dict[str, dict[str, Any]]) -> set[str]:
    return {
        name
        for name, service in services.items()
        if command_of(service).split()[:1] == ["worker"] and uses_app_image(service)
    }


def host_mounts(service: dict[str, Any]) -> list[str]:
    """Host paths (relative to the compose file) a service bind-mounts."""
    paths = []
    for volume in service.get("volumes", []):
        source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
        if source.startswith(("./", "../", "/")):
            paths.append(source)
    return paths


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
    assert any(image.startswith("temporalio/server:") for image in images.values())
    assert any(image.startswith("temporalio/admin-tools:") for image in images.values())
    assert any(image.startswith("temporalio/ui") for image in images.values())
    assert any(image.startswith("pgvector/pgvector") for image in images.values())
    s3_endpoint = environment_of(services["api"])["S3_ENDPOINT"]
    s3_host = re.sub(r"^https?://([^:/]+).*$", r"\1", s3_endpoint)
    assert s3_host in services, "S3_ENDPOINT names no service: no S3-compatible storage"
    for name in ("otel-collector", "jaeger", "prometheus", "grafana"):
        assert name in services, f"no {name} service"
    assert "api" in services and command_of(services["api"]).split()[0] == "api"
    assert environment_of(services["api"]).get("API_HOST") == "0.0.0.0"
    assert command_of(services["migrate"]) == "migrate"


def test_temporal_persists_in_postgres(services: dict[str, dict[str, Any]]) -> None:
    temporal = image_of(services, "temporalio/server:")
    environment = environment_of(temporal)
    assert environment["DB"] in {"postgres12", "postgres12_pgx"}
    seed = environment["POSTGRES_SEEDS"]
    assert seed in services and str(services[seed]["image"]).startswith("postgres")
    # The schema is a one-shot of admin-tools that the server waits for.
    schema_steps = [
        name
        for name, s in services.items()
        if str(s.get("image", "")).startswith("temporalio/admin-tools:")
        and "setup-schema" in command_of(s)
    ]
    assert schema_steps, "no admin-tools one-shot sets the Temporal schema up"
    for name in schema_steps:
        script = command_of(services[name])
        assert "update-schema" in script and "postgresql/v12" in script
        assert "temporal_visibility" in script and "visibility/versioned" in script
        assert services[name]["restart"] == "no"
        assert "temporal-db" in services[name]["depends_on"]
    depends = temporal.get("depends_on", {})
    assert any(
        depends[name]["condition"] == "service_completed_successfully" for name in schema_steps
    )


def test_the_namespace_exists_before_search_attributes(
    services: dict[str, dict[str, Any]],
) -> None:
    creators = [
        name
        for name, s in services.items()
        if "temporal operator namespace create" in command_of(s) and s.get("restart") == "no"
    ]
    assert creators, "nothing creates the Temporal namespace"
    depends = services["temporal-init"]["depends_on"]
    assert any(
        depends.get(name, {}).get("condition") == "service_completed_successfully"
        for name in creators
    )


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
            unknown = {
                variable
                for variable in set(environment_of(service)) - known
                if not variable.startswith(SDK_ENV_PREFIXES)
            }
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


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    # The schema names draft-07 by a URL jsonschema does not know; say it explicitly.
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft7Validator
    )
    validator_class.check_schema(schema)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator_class(schema).iter_errors(compose)
    ]
    assert errors == []


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    """Exact tags (or digests): a pull never brings in a version nobody reviewed.

    Our own image is exempt: it is built from this repository (`build:`), its tag chosen
    with POD_IMAGE_TAG.
    """
    for name, service in services.items():
        if uses_app_image(service):
            continue
        image = str(service.get("image", ""))
        assert image, f"{name} has no image"
        assert "${" not in image, f"{name}: the tag of {image} comes from the environment"
        if "@sha256:" in image:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not an exact tag"
        assert not repository.endswith("temporalio/auto-setup"), f"{name}: auto-setup is deprecated"
        assert not repository.endswith(("minio/minio", "minio/mc")) or tag != "latest", name


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    running = long_running(services)
    assert {"api", "temporal", "postgresql", "prometheus", "grafana"} <= set(running)
    for name, service in running.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test, f"{name} runs for good but has no healthcheck"
        first = test[0] if isinstance(test, list) else "CMD-SHELL"
        assert first in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck {test} probes nothing"
    for name in worker_services(services):
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f":{WORKER_METRICS_PORT}/metrics" in probe, name


def test_workers_serve_metrics_on_every_interface(services: dict[str, dict[str, Any]]) -> None:
    for name in worker_services(services):
        environment = environment_of(services[name])
        assert environment.get("WORKER_METRICS_HOST") == "0.0.0.0", name
        assert str(environment.get("WORKER_METRICS_PORT")) == str(WORKER_METRICS_PORT), name


def scrape_targets(job: dict[str, Any]) -> list[tuple[str, int]]:
    """(service, port) of every target of a scrape job, static or by DNS."""
    targets = []
    for static in job.get("static_configs", []):
        for target in static["targets"]:
            host, _, port = target.rpartition(":")
            targets.append((host, int(port)))
    for dns in job.get("dns_sd_configs", []):
        assert dns.get("type", "SRV") == "A", "an A lookup finds every scaled container"
        targets.extend((host, int(dns["port"])) for host in dns["names"])
    return targets


def test_prometheus_scrapes_the_api_and_every_worker(
    services: dict[str, dict[str, Any]],
) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = config["scrape_configs"]
    scraped: dict[tuple[str, int], str] = {}
    for job in jobs:
        for target in scrape_targets(job):
            scraped[target] = job.get("metrics_path", "/metrics")
    assert scraped.get(("api", int(environment_of(services["api"])["API_PORT"]))) == "/metrics"
    workers = worker_services(services)
    assert len(workers) >= 6
    for name in workers:
        assert scraped.get((name, WORKER_METRICS_PORT)) == "/metrics", f"{name} is not scraped"
    unknown = {host for host, _ in scraped} - set(services)
    assert not unknown, f"Prometheus scrapes hosts that are no compose service: {unknown}"
    # The scraper must be able to read the files compose gives it.
    assert "./deploy/prometheus.yml" in host_mounts(services["prometheus"])


def provisioned(folder: str, key: str) -> list[dict[str, Any]]:
    """The `key` entries of every provisioning file in `provisioning/<folder>/`."""
    items: list[dict[str, Any]] = []
    for path in sorted((GRAFANA / "provisioning" / folder).glob("*.y*ml")):
        items.extend(yaml.safe_load(path.read_text(encoding="utf-8"))[key])
    return items


def grafana_container_path(services: dict[str, dict[str, Any]], host: Path) -> str:
    """Where the grafana service mounts a host file or folder of ours."""
    for volume in services["grafana"]["volumes"]:
        source, target = str(volume).split(":")[:2]
        source_path = (ROOT / source).resolve()
        if host.resolve() == source_path or source_path in host.resolve().parents:
            return target + "/" + str(host.resolve().relative_to(source_path)).removeprefix(".")
    raise AssertionError(f"grafana does not mount {host}")


def test_grafana_provisions_the_dashboard_and_its_datasource(
    services: dict[str, dict[str, Any]],
) -> None:
    datasources = provisioned("datasources", "datasources")
    prometheus = [d for d in datasources if d["type"] == "prometheus"]
    assert len(prometheus) == 1 and prometheus[0]["uid"] == "prometheus"
    assert prometheus[0]["url"] == "http://prometheus:9090"
    providers = provisioned("dashboards", "providers")
    folders = {p["options"]["path"].rstrip("/") for p in providers if p["type"] == "file"}
    dashboard_folder = grafana_container_path(services, DASHBOARD.parent).rstrip("/")
    assert dashboard_folder in folders, "no provider reads the dashboards' folder"
    assert grafana_container_path(services, GRAFANA / "provisioning").rstrip("/") == (
        "/etc/grafana/provisioning"
    )
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "pod-automator" and dashboard["title"] == "POD Automator"
    for panel in dashboard["panels"]:
        assert "panels" not in panel, "rows with nested panels hide them from this check"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": prometheus[0]["uid"]}


def metric_names(expr: str) -> set[str]:
    """Identifiers of a PromQL expression that are neither functions nor label names."""
    bare = re.sub(r'"(?:\\.|[^"\\])*"', "", expr)  # strings
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges
    bare = re.sub(r"\bby\s*\([^)]*\)", "", bare)  # grouping labels
    names = set(re.findall(r"(?<![\w.])[A-Za-z_:][\w:]*", bare))
    return names - PROMQL_FUNCTIONS


def test_dashboard_uses_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 7
    used: set[str] = set()
    for expr in expressions:
        names = metric_names(expr)
        assert names, f"no metric in {expr}"
        assert names <= KNOWN_METRICS, f"{expr} uses {sorted(names - KNOWN_METRICS)}"
        used |= names
    # The panels the dashboard is for: runs, stages, vendors, API, listings, model cost.
    for metric in (
        "pod_runs_finished_total",
        "pod_runs_active",
        "temporal_activity_execution_latency_seconds_bucket",
        "pod_vendor_calls_total",
        "http_server_requests_total",
        "http_server_request_duration_seconds_bucket",
        "pod_listings_created_total",
        "pod_model_cost_usd_total",
    ):
        assert metric in used, f"no panel shows {metric}"


def test_metric_names_skips_functions_labels_and_ranges() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (route, le) "
        '(rate(http_server_request_duration_seconds_bucket{route!~"/x.."}[5m])))'
    )
    assert metric_names(expr) == {"http_server_request_duration_seconds_bucket"}


def test_mounted_deploy_files_exist(services: dict[str, dict[str, Any]]) -> None:
    mounted = [path for service in services.values() for path in host_mounts(service)]
    assert any(path.startswith("./deploy/") for path in mounted)
    for path in mounted:
        assert (ROOT / path).exists(), f"{path} is mounted but missing"


def test_deploy_configs_parse() -> None:
    for path in DEPLOY.rglob("*"):
        if path.suffix in {".yml", ".yaml"}:
            assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
        elif path.suffix == ".json":
            assert isinstance(json.loads(path.read_text(encoding="utf-8")), dict), path
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text(encoding="utf-8"))
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert collector["extensions"]["health_check"]["endpoint"].endswith(":13133")
    traces = collector["service"]["pipelines"]["traces"]
    assert "batch" in traces["processors"]
    exporters = [collector["exporters"][name] for name in traces["exporters"]]
    assert any(e["endpoint"].split(":")[0] == "jaeger" for e in exporters)
