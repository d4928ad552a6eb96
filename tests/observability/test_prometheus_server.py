"""A real Prometheus scrapes a stand-in exporter with the production `yilin` job
and the production rules, and the series come back through the HTTP API."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from . import runtime_contract
from .prometheus_server import running_prometheus
from .test_dashboards import all_expressions
from .test_promtool import RULE_FILES, rules


@pytest.fixture(scope="module")
def exporter():
    """A tiny exporter shaped like a tickets replica, on a free loopback port."""
    registry = CollectorRegistry()
    published = Counter("yilin_events_published", "Events published", ["service", "type"], registry=registry)
    backlog = Gauge("yilin_outbox_backlog", "Unsent events", ["service"], registry=registry)
    lag = Histogram(
        "yilin_event_lag_seconds", "Event lag", ["service", "type"], registry=registry, buckets=(0.1, 1, 10, 60)
    )
    published.labels(service="tickets", type="ticket.opened").inc(7)
    backlog.labels(service="tickets").set(3)
    lag.labels(service="tickets", type="volunteer.registered").observe(0.5)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def prometheus(prometheus_binary, exporter):
    with running_prometheus([(exporter, {"service": "tickets"})], rule_files=RULE_FILES) as server:
        yield server


def test_target_is_up_with_its_service_label(prometheus, exporter):
    result = prometheus.query('up{job="yilin"}')
    assert [(r["metric"]["instance"], r["metric"]["service"], r["value"][1]) for r in result] == [
        (exporter, "tickets", "1")
    ]


def test_contract_series_come_back(prometheus):
    [opened] = prometheus.query('yilin_events_published_total{type="ticket.opened"}')
    assert opened["metric"]["service"] == "tickets"
    assert float(opened["value"][1]) == 7
    [backlog] = prometheus.query("yilin_outbox_backlog")
    assert float(backlog["value"][1]) == 3
    # honor_labels keeps the exporter's own label instead of renaming it.
    assert "exported_service" not in backlog["metric"]


def test_histogram_series_come_back(prometheus):
    buckets = prometheus.query('yilin_event_lag_seconds_bucket{service="tickets"}')
    assert {b["metric"]["le"] for b in buckets} == {"0.1", "1.0", "10.0", "60.0", "+Inf"}


def test_recording_rules_run_against_scraped_series(prometheus):
    [recorded] = prometheus.wait_for("service:yilin_outbox_backlog:max")
    assert recorded["metric"] == {"__name__": "service:yilin_outbox_backlog:max", "service": "tickets"}
    assert float(recorded["value"][1]) == 3


def test_rules_are_loaded_healthy(prometheus):
    prometheus.wait_for("service:yilin_outbox_backlog:max")
    groups = prometheus.api("/api/v1/rules")["groups"]
    loaded = [rule for group in groups for rule in group["rules"]]
    assert len(loaded) == len(rules())
    assert [r["name"] for r in loaded if r["health"] == "err"] == []


# Grafana replaces these before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}


def test_every_dashboard_expression_is_valid_promql(prometheus):
    bad = []
    for where, expr in all_expressions():
        for name, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(name, value)
        expr = re.sub(r"\$\w+", ".*", expr)  # template variables become match-all regexes
        try:
            prometheus.query(expr)
        except Exception as error:  # noqa: BLE001 - collect every failure
            bad.append((where, str(error)))
    assert bad == []


def test_contract_is_readable():
    # Guards the parser the other tests rely on.
    metrics = runtime_contract.metrics()
    assert metrics["yilin_rpc_calls_total"].labels == {"method", "outcome"}
    assert metrics["yilin_event_lag_seconds"].kind == "histogram"
    assert {"yilin_worker_pool_in_use", "yilin_worker_pool_size"} <= set(metrics)
    assert runtime_contract.metrics_ports()["fund"] == 9104
