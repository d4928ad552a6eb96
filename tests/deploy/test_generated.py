"""The generated monitoring resources (deploy/generate.py): up to date, one source of truth
with the promtool-tested rules, and loadable by the Operator, Grafana's sidecar and KEDA."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from deploy_checks import K8S_DIR, OVERLAYS, REPO, check_overlay

from tests.observability.prometheus_server import PrometheusNotFound, promtool_path

sys.path.insert(0, str(REPO / "deploy"))
import generate

RULES = REPO / "deploy" / "prometheus" / "rules" / "yilin.rules.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "tests" / "yilin.rules.test.yml"
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"


@pytest.fixture(scope="module")
def promtool() -> str:
    try:
        return promtool_path()
    except PrometheusNotFound as error:  # a missing binary is a broken environment
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    work = tmp_path_factory.mktemp("rendered")
    return {name: check_overlay(K8S_DIR / "overlays" / name, work).docs for name in OVERLAYS}


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def test_generated_files_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_check_names_a_stale_file(tmp_path, monkeypatch, capsys):
    # --check must bite: point a generated file at a stale copy and expect it named.
    stale = tmp_path / "keda.yaml"
    stale.write_text("# stale\n")
    real = generate.outputs

    def with_stale():
        files = real()
        files[stale] = files.pop(generate.K8S_BASE / "keda.yaml")
        return files

    monkeypatch.setattr(generate, "outputs", with_stale)
    assert generate.main(["--check"]) == 1
    assert "keda.yaml" in capsys.readouterr().err
    assert stale.read_text() == "# stale\n"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_rule_is_the_rules_file(rendered, overlay):
    (rule,) = of_kind(rendered[overlay], "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_promtool_on_the_extracted_rules(rendered, overlay, promtool, tmp_path):
    (rule,) = of_kind(rendered[overlay], "PrometheusRule")
    extracted = tmp_path / "extracted.rules.yml"
    extracted.write_text(yaml.safe_dump(rule["spec"]))
    checked = subprocess.run([promtool, "check", "rules", str(extracted)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The unit tests of the rules, run against what the Operator would load.
    cases = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    cases["rule_files"] = [str(extracted)]
    test_file = tmp_path / "extracted.test.yml"
    test_file.write_text(yaml.safe_dump(cases))
    tested = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_runbook_urls_are_absolute_from_the_one_base():
    base = generate.settings()["runbook_base_url"]
    assert base.startswith("https://") and base.endswith("docs/operations.md")
    spec = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    alerts = [r for g in spec["groups"] for r in g["rules"] if "alert" in r]
    assert alerts
    for alert in alerts:
        assert alert["annotations"]["runbook_url"] == f"{base}#{alert['alert'].lower()}"
    # A different base rewrites every link and nothing else.
    moved = generate.rules_text(RULES.read_text(encoding="utf-8"), "https://docs.example/ops")
    assert moved.count("https://docs.example/ops#") == len(alerts)
    assert moved.replace("https://docs.example/ops", base) == RULES.read_text(encoding="utf-8")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dashboards_ship_as_sidecar_configmaps(rendered, overlay):
    maps = [
        c
        for c in of_kind(rendered[overlay], "ConfigMap")
        if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    shipped = {key: json.loads(value) for c in maps for key, value in c["data"].items()}
    sources = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARDS.glob("*.json")}
    assert shipped == sources
    for dashboard in shipped.values():
        names = [v["name"] for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
        assert names == ["datasource"]


def test_hours_scales_on_every_queue_it_consumes():
    from services.hours.service import HoursService

    rpc, events = generate.consumed_queues(HoursService)
    assert rpc == ["rpc-hours"] and len(events) >= 11
    keda = list(yaml.safe_load_all((generate.K8S_BASE / "keda.yaml").read_text(encoding="utf-8")))
    (hours,) = [d for d in keda if d["kind"] == "ScaledObject" and d["metadata"]["name"] == "hours"]
    assert sorted(t["metadata"]["queueName"] for t in hours["spec"]["triggers"]) == sorted(rpc + events)
