"""Compose files: the Compose spec schema, the Compose v2 binary, and the contract."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from deploy_checks import (
    COMPOSE_DIR,
    REPO,
    compose_config,
    compose_schema_check,
    contract_metrics_ports,
    describe,
    env_var_in_contract,
)

BASE = COMPOSE_DIR / "compose.yaml"
OVERRIDE = COMPOSE_DIR / "compose.override.yaml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
CONSUMERS = ("registry", "tickets", "hours", "fund", "activities")
SECRET_NAME = re.compile(r"PASS|PASSWORD|SECRET|KEY|TOKEN", re.I)
INTERPOLATION = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(?::?[-?+][^}]*)?\}$")


@pytest.fixture(scope="module")
def resolved():
    """compose.yaml as Compose itself resolves it (anchors, merges, .env.example)."""
    proc = compose_config(BASE, fmt="json")
    assert proc.returncode == 0, describe(proc)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def resolved_dev():
    proc = compose_config(BASE, OVERRIDE, fmt="json")
    assert proc.returncode == 0, describe(proc)
    return json.loads(proc.stdout)


@pytest.mark.parametrize("path", [BASE, OVERRIDE], ids=lambda p: p.name)
def test_schema(path):
    proc = compose_schema_check(path)
    assert proc.returncode == 0, describe(proc)


@pytest.mark.parametrize("files", [(BASE,), (BASE, OVERRIDE)], ids=["compose", "compose+override"])
def test_compose_accepts(files):
    proc = compose_config(*files)
    assert proc.returncode == 0, describe(proc)


def test_services_follow_the_contract(resolved):
    services = resolved["services"]
    for name, port in contract_metrics_ports().items():
        svc = services[name]
        assert svc["command"] == ["yilin", "serve", name]
        assert svc["environment"]["YILIN_METRICS_PORT"] == str(port)
        for var in svc["environment"]:
            if var.startswith("YILIN_"):
                assert env_var_in_contract(var), f"{name}: {var} is not in docs/runtime-contract.md"
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["healthcheck"]["test"][:2] == ["CMD", "yilin-healthcheck"]
        assert svc["restart"] == "unless-stopped"
        assert svc.get("stop_grace_period"), f"{name} has no stop_grace_period"
    for name in CONSUMERS:
        assert services[name]["deploy"]["replicas"] == 2
    assert services["gateway"]["environment"]["YILIN_JWT_SECRET"]
    assert services["migrate"]["command"] == ["yilin", "migrate"]
    for dep in ("postgres", "rabbitmq"):
        assert services["migrate"]["depends_on"][dep]["condition"] == "service_healthy"


def test_infrastructure(resolved):
    services = resolved["services"]
    assert re.fullmatch(r"rabbitmq:3\.\d+-management", services["rabbitmq"]["image"])
    assert services["postgres"]["image"].startswith("postgres:15")
    for name in ("rabbitmq", "postgres", "prometheus", "grafana", "jaeger"):
        assert services[name].get("healthcheck"), name
    # The trace backend takes OTLP/HTTP, where every Yilin process sends its spans.
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    for name in contract_metrics_ports():
        assert services[name]["environment"]["YILIN_OTLP_ENDPOINT"] == "http://jaeger:4318"
    plugins = (COMPOSE_DIR / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    assert "default_queue_type = quorum" in (COMPOSE_DIR / "rabbitmq" / "conf.d" / "20-yilin.conf").read_text()
    mounts = {
        (m["source"], m["target"])
        for name in ("prometheus", "grafana")
        for m in services[name]["volumes"]
        if m["type"] == "bind"
    }
    deploy = REPO / "deploy"
    assert (str(deploy / "prometheus" / "prometheus.yml"), "/etc/prometheus/prometheus.yml") in mounts
    assert (str(deploy / "prometheus" / "rules"), "/etc/prometheus/rules") in mounts
    assert (str(deploy / "grafana" / "provisioning"), "/etc/grafana/provisioning") in mounts
    assert (str(deploy / "grafana" / "dashboards"), "/var/lib/grafana/dashboards/yilin") in mounts


def test_grafana_has_the_trace_backend_as_a_datasource(resolved):
    """Grafana's provisioned datasources, read from the folder compose mounts: the
    Prometheus one and one for the trace backend, at the service name and query port of
    the backend the services export their spans to."""
    services = resolved["services"]
    (provisioning,) = [
        Path(m["source"])
        for m in services["grafana"]["volumes"]
        if m["type"] == "bind" and m["target"] == "/etc/grafana/provisioning"
    ]
    datasources = [
        d
        for f in sorted((provisioning / "datasources").glob("*.yml"))
        for d in yaml.safe_load(f.read_text())["datasources"]
    ]
    by_type = {d["type"]: d for d in datasources}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert len({d["uid"] for d in datasources}) == len(datasources)

    backend = urlparse(services["gateway"]["environment"]["YILIN_OTLP_ENDPOINT"]).hostname
    assert backend in services and services[backend]["image"].startswith("jaegertracing/")
    traces = urlparse(by_type["jaeger"]["url"])
    assert (traces.scheme, traces.hostname, traces.port) == ("http", backend, 16686)
    # the port Grafana queries is the backend's query port, the one compose publishes
    assert traces.port in {int(p["target"]) for p in services[backend]["ports"]}
    assert by_type["jaeger"]["access"] == "proxy" and not by_type["jaeger"].get("isDefault")


def test_dev_override(resolved_dev):
    services = resolved_dev["services"]
    for name in contract_metrics_ports():
        env = services[name]["environment"]
        assert env["YILIN_LOG_FORMAT"] == "text"
        assert env["PYTHONPATH"] == "/app"
        targets = {m["target"] for m in services[name]["volumes"]}
        assert {"/app/yilin", "/app/services"} <= targets


def _environment_items(doc):
    for svc in (doc.get("services") or {}).values():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        yield from env.items()


@pytest.mark.parametrize("path", [BASE, OVERRIDE], ids=lambda p: p.name)
def test_no_literal_secrets(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in _environment_items(doc):
        value = str(value)
        if SECRET_NAME.search(key):
            assert INTERPOLATION.match(value), f"{path.name}: {key} must come from the env file, not {value!r}"
        # Credentials inside URLs too: scheme://user:PASSWORD@host
        m = re.match(r"^[a-z0-9+]+://(?:\$\{[^}]*\}|[^:/@$]+):(\$\{[^}]*\}|[^@]+)@", value)
        if m:
            assert INTERPOLATION.match(m.group(1)), f"{path.name}: {key} embeds a literal password"


def test_env_example_sets_every_required_variable():
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", BASE.read_text(encoding="utf-8")))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#") and "=" in line
    }
    assert required and required <= example, f"missing in .env.example: {sorted(required - example)}"


def test_missing_secret_stops_compose(tmp_path):
    env = tmp_path / "partial.env"
    env.write_text(
        "\n".join(line for line in ENV_EXAMPLE.read_text().splitlines() if not line.startswith("YILIN_PII_KEY=")),
        encoding="utf-8",
    )
    proc = compose_config(BASE, env_file=env)
    assert proc.returncode != 0 and "YILIN_PII_KEY" in proc.stderr, describe(proc)


# --- the same validators reject broken copies -------------------------------


def _break_unknown_key(doc):
    doc["services"]["gateway"]["restart_policy"] = "always"


def _break_wrong_type(doc):
    doc["services"]["tickets"]["healthcheck"] = "yes"


def _break_dangling_dependency(doc):
    doc["services"]["hours"]["depends_on"] = {"migrations": {"condition": "service_completed_successfully"}}


# (mutation, does the schema catch it, does Compose catch it)
MUTATIONS = {
    "unknown key": (_break_unknown_key, True, True),
    "wrong type": (_break_wrong_type, True, True),
    "dependency on a missing service": (_break_dangling_dependency, False, True),
}


@pytest.mark.parametrize("which", ["compose.yaml", "compose.override.yaml"])
@pytest.mark.parametrize("mutation", MUTATIONS)
def test_broken_copy_is_rejected(tmp_path, which, mutation):
    breaker, schema_catches, compose_catches = MUTATIONS[mutation]
    source = COMPOSE_DIR / which
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc.setdefault("services", {})
    for name in ("gateway", "tickets", "hours"):
        doc["services"].setdefault(name, {})
    breaker(doc)
    broken = tmp_path / which
    broken.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    files = (broken,) if which == "compose.yaml" else (BASE, broken)
    schema = compose_schema_check(broken)
    config = compose_config(*files)
    if schema_catches:
        assert schema.returncode != 0, f"schema accepted {mutation} in {which}\n{describe(schema)}"
    if compose_catches:
        assert config.returncode != 0, f"Compose accepted {mutation} in {which}\n{describe(config)}"
