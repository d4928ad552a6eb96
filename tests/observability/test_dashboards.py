"""Grafana provisioning and dashboards: valid JSON, one datasource, and only
metric names and labels that docs/runtime-contract.md defines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from . import runtime_contract
from .promql_names import grafana_query_expr, metric_names, selector_labels

GRAFANA_DIR = runtime_contract.REPO / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA_DIR / "provisioning" / "dashboards" / "yilin.yml"


def panels(dashboard: dict):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


def expressions(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    found = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r}", target["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            expr = grafana_query_expr(query)
            if expr:
                found.append((f"variable {variable['name']}", expr))
    return found


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def all_expressions() -> list[tuple[str, str]]:
    return [(f"{path.name} {where}", expr) for path in DASHBOARDS for where, expr in expressions(load(path))]


def test_expected_dashboards_exist():
    assert {p.name for p in DASHBOARDS} >= {
        "service-health.json",
        "event-pipeline.json",
        "tickets.json",
        "hours.json",
        "fund.json",
        "activities.json",
    }


def test_provisioning_points_at_the_dashboards_and_one_datasource():
    datasources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert [d["type"] for d in datasources] == ["prometheus"]
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert providers and all(p["type"] == "file" and p["options"]["path"] for p in providers)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path):
    dashboard = load(path)
    # The datasource is a variable, so the same JSON loads into any Grafana (the compose
    # provisioning, or the Operator's sidecar next to a Prometheus of another uid).
    (variable,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    uid = "${" + variable["name"] + "}"
    assert '"yilin-prometheus"' not in path.read_text(encoding="utf-8")
    assert dashboard["uid"] and dashboard["title"].startswith("Yilin")
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        assert all(t["datasource"]["uid"] == uid for t in panel["targets"]), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_dashboard_uids_are_unique():
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_dashboards_use_only_contract_metric_names():
    contract = runtime_contract.metrics()
    unknown = [
        (where, name)
        for where, expr in all_expressions()
        for name in metric_names(expr)
        if not runtime_contract.is_known_metric(name, contract)
    ]
    assert unknown == []


def test_dashboards_match_only_contract_labels():
    contract = runtime_contract.metrics()
    wrong = []
    for where, expr in all_expressions():
        for name, labels in selector_labels(expr):
            allowed = runtime_contract.allowed_labels(name, contract)
            if allowed is not None and not labels <= allowed:
                wrong.append((where, name, sorted(labels - allowed)))
    assert wrong == []


def test_every_contract_metric_is_on_some_dashboard():
    used = {name for _, expr in all_expressions() for name in metric_names(expr)}
    used |= {name.rpartition("_")[0] for name in used if name.endswith(("_bucket", "_sum", "_count"))}
    assert set(runtime_contract.metrics()) - used == set()
