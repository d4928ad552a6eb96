"""The scrape configs name every service on the port the runtime contract gives it."""

from __future__ import annotations

import pytest
import yaml

from . import runtime_contract

PROMETHEUS_DIR = runtime_contract.REPO / "deploy" / "prometheus"


def jobs(name: str) -> dict[str, dict]:
    document = yaml.safe_load((PROMETHEUS_DIR / name).read_text())
    return {job["job_name"]: job for job in document["scrape_configs"]}


def static_targets(job: dict) -> dict[str, dict]:
    return {target: group.get("labels", {}) for group in job.get("static_configs", []) for target in group["targets"]}


def test_every_service_is_scraped_on_its_contract_port():
    ports = runtime_contract.metrics_ports()
    targets = static_targets(jobs("prometheus.local.yml")["yilin"])
    expected = {f"127.0.0.1:{port}": {"service": service} for service, port in ports.items()}
    assert targets == expected


@pytest.mark.parametrize(
    "config, address",
    [
        ("prometheus.yml", "rabbitmq:15692"),
        ("prometheus.local.yml", "127.0.0.1:15692"),
    ],
)
def test_rabbitmq_plugin_is_scraped(config, address):
    found = jobs(config)
    assert address in static_targets(found["rabbitmq"])
    detailed = found["rabbitmq-queues"]
    assert detailed["metrics_path"] == "/metrics/detailed"
    # YilinQueueWithoutConsumer needs the per-queue consumer count.
    assert "queue_consumer_count" in detailed["params"]["family"]


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml", "examples/kubernetes-sd.yml"])
def test_yilin_job_keeps_the_exported_service_label(config):
    # Without honor_labels the target's `service` label would push every
    # exported one aside into `exported_service`.
    assert jobs(config)["yilin"]["honor_labels"] is True


def test_compose_discovers_every_replica_of_every_service():
    # Compose runs replicas: one static target per service would scrape one of them.
    job = jobs("prometheus.yml")["yilin"]
    assert "static_configs" not in job
    sd = job["dns_sd_configs"]
    assert all(entry["type"] == "A" for entry in sd)
    assert {(entry["names"][0], entry["port"]) for entry in sd} == set(runtime_contract.metrics_ports().items())
    # `up` and scrape_* series name the service the replica belongs to.
    assert {"source_labels": ["__meta_dns_name"], "regex": "(.+)", "target_label": "service"} in job["relabel_configs"]


def test_rule_files_are_loaded():
    for config in ["prometheus.yml", "prometheus.local.yml"]:
        document = yaml.safe_load((PROMETHEUS_DIR / config).read_text())
        assert "rules/*.yml" in document["rule_files"]
