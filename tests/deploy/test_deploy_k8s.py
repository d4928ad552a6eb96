"""Kustomize overlays: render, schema-validate, cross-check, and prove the checks bite."""

from __future__ import annotations

import shutil

import pytest
import yaml
from deploy_checks import (
    K8S_DIR,
    OVERLAYS,
    check_overlay,
    contract_metrics_ports,
    env_var_in_contract,
)


def declared_queues(service: str) -> set[str]:
    """The queues the code declares for a service: its RPC queue and one per event handler."""
    from yilin.topology import handler_queue_name, service_handlers
    from yilinctl.cli import service_class

    handlers = service_handlers(service_class(service))
    return {f"rpc-{service}"} | {handler_queue_name(src, typ, service, m) for src, typ, m in handlers}


def consumers() -> list[str]:
    """Every service that consumes a queue: all but the HTTP gateway."""
    from services import SERVICES

    return [s for s in SERVICES if s != "gateway"]


CONSUMERS = consumers()
PREFIX = {"dev": "", "prod": "yilin-"}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    work = tmp_path_factory.mktemp("rendered")
    return {name: check_overlay(K8S_DIR / "overlays" / name, work) for name in OVERLAYS}


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders(reports, overlay):
    assert not reports[overlay].kustomize, reports[overlay].kustomize


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_kinds_pass_strict_schema(reports, overlay):
    assert not reports[overlay].kubernetes_validate, "\n".join(reports[overlay].kubernetes_validate)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_pass_their_schemas(reports, overlay):
    docs = reports[overlay].docs
    kinds = {d["kind"] for d in docs}
    assert {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "RabbitmqCluster", "PrometheusRule"} <= kinds
    assert not reports[overlay].custom_resources, "\n".join(reports[overlay].custom_resources)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_references_resolve(reports, overlay):
    assert not reports[overlay].cross_references, "\n".join(reports[overlay].cross_references)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_follow_the_contract(reports, overlay):
    docs = reports[overlay].docs
    deployments = by_kind(docs, "Deployment")
    p = PREFIX[overlay]
    for service, port in contract_metrics_ports().items():
        dep = deployments[f"{p}{service}"]
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["args"] == ["yilin", "serve", service]
        ports = {x["name"]: x["containerPort"] for x in c["ports"]}
        assert ports["metrics"] == port
        env = {e["name"]: e for e in c["env"]}
        assert env["YILIN_METRICS_PORT"]["value"] == str(port)
        for name in env:
            assert env_var_in_contract(name), f"{service}: {name} is not in docs/runtime-contract.md"
        for secret in ("YILIN_DATABASE_URL", "YILIN_PII_KEY", "YILIN_AMQP_URI"):
            assert env[secret]["valueFrom"]["secretKeyRef"]["name"] == "yilin-secrets"
        if service == "gateway":
            assert env["YILIN_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "yilin-secrets"
            assert ports["http"] == 8000
        # Readiness asks the pod's own broker and database, never another service (a backend
        # down must not take every gateway pod out of the Service).
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        # Liveness must not depend on the broker or the database.
        assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
        startup = c["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
        assert c["resources"]["requests"] and c["resources"]["limits"]
        assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
        assert pod["terminationGracePeriodSeconds"] >= 30
        assert pod["securityContext"]["runAsNonRoot"] is True
    assert set(by_kind(docs, "PodDisruptionBudget")) == {f"{p}{s}" for s in contract_metrics_ports()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_scale_on_their_queues(reports, overlay):
    scaled = by_kind(reports[overlay].docs, "ScaledObject")
    p = PREFIX[overlay]
    assert set(scaled) == {f"{p}{s}" for s in CONSUMERS}
    for service in CONSUMERS:
        declared = declared_queues(service)
        so = scaled[f"{p}{service}"]
        assert so["spec"]["scaleTargetRef"]["name"] == f"{p}{service}"
        triggers = so["spec"]["triggers"]
        assert {t["type"] for t in triggers} == {"rabbitmq"}
        names = [t["metadata"]["queueName"] for t in triggers]
        # One trigger per queue the code declares, none for a queue it does not.
        assert sorted(names) == sorted(declared), set(names) ^ declared


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_before_rollout(reports, overlay):
    docs = reports[overlay].docs
    (job,) = by_kind(docs, "Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["yilin", "migrate"]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"
    # Everything the Job needs goes out in the first phase of rollout.sh.
    pre = {d["kind"] for d in docs if d["metadata"].get("labels", {}).get("yilin.io/rollout-phase") == "pre"}
    assert pre == {"Namespace", "ConfigMap", "Job", "RabbitmqCluster"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_retention_runs_nightly_and_keeps_its_archive(reports, overlay):
    docs = reports[overlay].docs
    p = PREFIX[overlay]
    cron = by_kind(docs, "CronJob")[f"{p}retention"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"] == ["yilin", "retention", "--vacuum"]
    env = {e["name"]: e for e in c["env"]}
    for name in env:
        assert env_var_in_contract(name), f"retention: {name} is not in docs/runtime-contract.md"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert env["YILIN_RETENTION_ARCHIVE_DIR"]["value"] == mounts["archive"]
    (claim,) = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if v["name"] == "archive"]
    assert claim in by_kind(docs, "PersistentVolumeClaim")
    # The windows it reads are set, and safe (yilinctl/retention.py refuses the rest).
    from yilinctl.retention import Policy

    config = {k: v for d in docs if d["kind"] == "ConfigMap" for k, v in d.get("data", {}).items() if "RETENTION" in k}
    Policy(
        outbox_days=float(config["YILIN_RETENTION_OUTBOX_DAYS"]),
        inbox_days=float(config["YILIN_RETENTION_INBOX_DAYS"]),
        audit_days=float(config["YILIN_RETENTION_AUDIT_DAYS"]),
        rpc_days=float(config["YILIN_RETENTION_RPC_DAYS"]),
    ).check()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_certificate_links_point_at_the_ingress_host(reports, overlay):
    docs = reports[overlay].docs
    (config,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(f"{PREFIX[overlay]}runtime-config")
    ]
    (ingress,) = by_kind(docs, "Ingress").values()
    scheme = "https" if ingress["spec"].get("tls") else "http"
    assert config["data"]["YILIN_PUBLIC_URL"] == f"{scheme}://{ingress['spec']['rules'][0]['host']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_cluster(reports, overlay):
    (cluster,) = by_kind(reports[overlay].docs, "RabbitmqCluster").values()
    assert cluster["spec"]["replicas"] == 3
    assert "default_queue_type = quorum" in cluster["spec"]["rabbitmq"]["additionalConfig"]


def test_prod_is_prefixed_and_larger(reports):
    dev, prod = reports["dev"].docs, reports["prod"].docs
    for d in prod:
        if d["kind"] != "Namespace":
            assert d["metadata"]["name"].startswith("yilin-"), d["metadata"]["name"]
    dev_dep, prod_dep = by_kind(dev, "Deployment"), by_kind(prod, "Deployment")
    for name, dep in dev_dep.items():
        assert prod_dep[f"yilin-{name}"]["spec"]["replicas"] > dep["spec"]["replicas"]
    dev_so, prod_so = by_kind(dev, "ScaledObject"), by_kind(prod, "ScaledObject")
    for name, so in dev_so.items():
        assert prod_so[f"yilin-{name}"]["spec"]["maxReplicaCount"] > so["spec"]["maxReplicaCount"]


# --- the same validators reject broken copies -------------------------------

# (what breaks, target, JSON patch, validator expected to object)
BREAKAGES = [
    (
        "unknown Deployment field",
        {"kind": "Deployment", "name": "tickets"},
        [{"op": "add", "path": "/spec/template/spec/containers/0/livenesProbe", "value": {}}],
        "kubernetes_validate",
    ),
    (
        "Deployment replicas as text",
        {"kind": "Deployment", "name": "hours"},
        [{"op": "add", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": "ninety"}],
        "kubernetes_validate",
    ),
    (
        "unknown ScaledObject field",
        {"kind": "ScaledObject", "name": "fund"},
        [{"op": "add", "path": "/spec/minReplicas", "value": 1}],
        "custom_resources",
    ),
    (
        "ScaledObject count as text",
        {"kind": "ScaledObject", "name": "hours"},
        [{"op": "replace", "path": "/spec/maxReplicaCount", "value": "many"}],
        "custom_resources",
    ),
    (
        "ServiceMonitor endpoints not a list",
        {"kind": "ServiceMonitor", "name": "services"},
        [{"op": "replace", "path": "/spec/endpoints", "value": "metrics"}],
        "custom_resources",
    ),
    (
        "RabbitmqCluster replicas as text",
        {"kind": "RabbitmqCluster", "name": "rabbitmq"},
        [{"op": "replace", "path": "/spec/replicas", "value": "three"}],
        "custom_resources",
    ),
    (
        "unknown RabbitmqCluster field",
        {"kind": "RabbitmqCluster", "name": "rabbitmq"},
        [{"op": "add", "path": "/spec/replica", "value": 3}],
        "custom_resources",
    ),
    (
        "scaleTargetRef to nothing",
        {"kind": "ScaledObject", "name": "tickets"},
        [{"op": "replace", "path": "/spec/scaleTargetRef/name", "value": "no-such-deployment"}],
        "cross_references",
    ),
    (
        "Service selector to nothing",
        {"kind": "Service", "name": "fund"},
        [{"op": "replace", "path": "/spec/selector/app.kubernetes.io~1name", "value": "fnud"}],
        "cross_references",
    ),
    (
        "PDB selector to nothing",
        {"kind": "PodDisruptionBudget", "name": "registry"},
        [{"op": "replace", "path": "/spec/selector/matchLabels/app.kubernetes.io~1name", "value": "registy"}],
        "cross_references",
    ),
    (
        "ServiceMonitor selector to nothing",
        {"kind": "ServiceMonitor", "name": "services"},
        [{"op": "replace", "path": "/spec/selector/matchLabels", "value": {"app.kubernetes.io/part-of": "nobody"}}],
        "cross_references",
    ),
    (
        "ServiceMonitor port not on the Services",
        {"kind": "ServiceMonitor", "name": "services"},
        [{"op": "replace", "path": "/spec/endpoints/0/port", "value": "http-metrics"}],
        "cross_references",
    ),
    ("missing resource file", None, None, "kustomize"),
]


def broken_overlay(tmp_path, overlay, target, patch):
    tree = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, tree)
    kfile = tree / "overlays" / overlay / "kustomization.yaml"
    k = yaml.safe_load(kfile.read_text(encoding="utf-8"))
    if target is None:
        k["resources"].append("does-not-exist.yaml")
    else:
        k.setdefault("patches", []).append({"target": target, "patch": yaml.safe_dump(patch)})
    kfile.write_text(yaml.safe_dump(k, sort_keys=False), encoding="utf-8")
    return tree / "overlays" / overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("what,target,patch,validator", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_broken_overlay_is_rejected(tmp_path, overlay, what, target, patch, validator):
    report = check_overlay(broken_overlay(tmp_path, overlay, target, patch), tmp_path)
    assert getattr(report, validator), f"{what}: {validator} accepted a broken {overlay} overlay"


def test_each_service_has_its_own_broker_user() -> None:
    """broker-users.yaml is what the code's permissions say, and each Deployment
    connects with its own user's URI and signs identities with its own key."""
    import subprocess
    import sys

    from tests.deploy.deploy_checks import REPO

    done = subprocess.run(
        [sys.executable, "tools/broker_users.py", "--check"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for service in ("gateway", *CONSUMERS):
        text = (K8S_DIR / "base" / f"{service}.yaml").read_text()
        assert f"key: YILIN_AMQP_URI_{service.upper()}" in text
        # its own identity key from a Secret of its own, and no other signer's
        assert f"name: yilin-identity-{service}\n                  key: YILIN_IDENTITY_KEY_{service.upper()}" in text
        assert text.count("YILIN_IDENTITY_KEY_") == 2 and "name: yilin-identity-public-keys" in text
