"""The container image definition and its health check script.

No Docker daemon is needed: hadolint lints the Dockerfile, the BuildKit
parser (PyPI `dockerfile`) checks its structure, and the health check script
runs against a local HTTP server.
"""

from __future__ import annotations

import http.server
import importlib.util
import subprocess
import sys
import threading

import pytest
from deploy_checks import REPO, describe, run, venv_tool

DOCKERFILE = REPO / "Dockerfile"
HEALTHCHECK = REPO / "deploy" / "docker" / "healthcheck.py"
BUILD_TOOLS = ("build-essential", "gcc", "libpq-dev", "make", "git")


def hadolint(path):
    return run([venv_tool("hadolint"), "--no-color", path])


def stages(path):
    try:
        import dockerfile
    except ImportError:
        pytest.fail(f"package `dockerfile` is not installed for {sys.executable}", pytrace=False)
    result, current, args = [], None, {}
    for cmd in dockerfile.parse_file(str(path)):
        if cmd.cmd == "ARG" and current is None:
            name, _, default = cmd.value[0].partition("=")
            args[name] = default
        elif cmd.cmd == "FROM":
            base = cmd.value[0]
            for name, default in args.items():
                base = base.replace("${%s}" % name, default).replace("$" + name, default)
            current = {"from": base, "cmds": []}
            result.append(current)
        elif current is not None:
            current["cmds"].append(cmd)
    return result


def structure_errors(path):
    """What would make the image unfit to run, whatever hadolint thinks."""
    errors = []
    found = stages(path)
    if len(found) < 2:
        return ["needs a builder stage and a runtime stage"]
    runtime = found[-1]
    base = runtime["from"]
    if not (base.startswith("python:3.11") and "slim" in base):
        errors.append(f"runtime base {base} is not a slim python:3.11")
    by_cmd = {}
    for c in runtime["cmds"]:
        by_cmd.setdefault(c.cmd, []).append(c)
    users = [c.value[0] for c in by_cmd.get("USER", [])]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        errors.append("runtime must end as a non-root USER")
    for c in by_cmd.get("RUN", []):
        text = " ".join(c.value)
        for tool in BUILD_TOOLS:
            if "install" in text and f" {tool}" in text:
                errors.append(f"runtime installs build tool {tool}")
    for c in by_cmd.get("RUN", []):
        if "fonts-" in " ".join(c.value):
            errors.append("runtime installs a system font; the CJK font comes with the locked venv")
    builder = " ".join(" ".join(c.value) for s in found[:-1] for c in s["cmds"] if c.cmd in ("RUN", "COPY"))
    if "uv.lock" not in builder or "uv sync --frozen" not in builder:
        errors.append("the builder does not install from uv.lock (uv sync --frozen)")
    if "--group" in builder or "--all-groups" in builder or "--dev" in builder.replace("--no-dev", ""):
        errors.append("the image installs a dependency group beyond the runtime")
    health = " ".join(" ".join(c.value) for c in by_cmd.get("HEALTHCHECK", []))
    if "/livez" not in health:
        errors.append("HEALTHCHECK must probe /livez (liveness only) on the metrics port")
    if not by_cmd.get("ENTRYPOINT"):
        errors.append("no ENTRYPOINT")
    cmd = by_cmd.get("CMD", [])
    if not cmd or list(cmd[-1].value)[:2] != ["yilin", "serve"]:
        errors.append("CMD must be `yilin serve SERVICE`")
    if not any("from=builder" in " ".join(c.flags) for c in by_cmd.get("RUN", []) + by_cmd.get("COPY", [])):
        errors.append("runtime does not take its wheels from the builder stage")
    return errors


def test_hadolint_passes():
    proc = hadolint(DOCKERFILE)
    assert proc.returncode == 0, describe(proc)


def test_structure():
    assert structure_errors(DOCKERFILE) == []


def test_dockerignore_keeps_local_state_out():
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines and "*" in lines, "expected an allow-list .dockerignore"
    assert "!.venv" not in lines and "!.git" not in lines and "**/.env" in lines


@pytest.mark.parametrize(
    "breakage,lint_catches,structure_catches",
    [
        ("\nRUN cd /tmp && apt-get install -y gcc\n", True, True),
        ("\nUSER root\n", True, True),
        ('\nFROM python:latest\nCMD ["python"]\n', True, True),
        ("\nRUN apt-get install -y --no-install-recommends fonts-wqy-microhei\n", False, True),
    ],
    ids=["build tools in runtime", "root user", "unpinned last stage", "system font in runtime"],
)
def test_broken_copy_is_rejected(tmp_path, breakage, lint_catches, structure_catches):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text() + breakage)
    if lint_catches:
        proc = hadolint(broken)
        assert proc.returncode != 0, describe(proc)
    if structure_catches:
        assert structure_errors(broken)


# --- health check script -----------------------------------------------------


@pytest.fixture(scope="module")
def healthcheck():
    spec = importlib.util.spec_from_file_location("yilin_container_healthcheck", HEALTHCHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_port_from_command_line(healthcheck, tmp_path):
    ports = healthcheck.DEFAULT_METRICS_PORTS
    from deploy_checks import contract_metrics_ports

    assert ports == contract_metrics_ports()
    assert healthcheck.metrics_port({}, ["tini", "--", "yilin", "serve", "hours"]) == 9103
    assert healthcheck.metrics_port({"YILIN_METRICS_PORT": "9200"}, ["yilin", "serve", "hours"]) == 9200
    assert healthcheck.metrics_port({}, ["tini", "--", "yilin", "migrate"]) == 0


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path in ("/livez", "/healthz") else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def metrics_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _probe(port, path):
    env = {"YILIN_METRICS_PORT": str(port), "PATH": "/usr/bin:/bin", "NO_PROXY": "*", "no_proxy": "*"}
    return subprocess.run([sys.executable, str(HEALTHCHECK), path], env=env, capture_output=True, timeout=30)


def test_probe_answers(metrics_server):
    assert _probe(metrics_server, "/livez").returncode == 0
    assert _probe(metrics_server, "/healthz").returncode == 0
    assert _probe(metrics_server, "/readyz").returncode == 1


def test_probe_fails_when_nothing_listens(metrics_server):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    free_port = server.server_address[1]
    server.server_close()
    assert _probe(free_port, "/healthz").returncode == 1
