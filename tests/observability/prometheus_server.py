"""A throwaway Prometheus server for tests.

    with running_prometheus(["127.0.0.1:9102"], labels={"service": "tickets"}) as prom:
        prom.query('yilin_outbox_backlog{service="tickets"}')

The server listens on a free loopback port, keeps its data in a temporary
directory, scrapes the given targets with the `yilin` job of
deploy/prometheus/prometheus.yml (so its relabelling and honor_labels are the
ones production uses), waits until every target is up, and is stopped on exit.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import yaml

from tests.harness import free_port  # below the ephemeral range: no clash with outgoing sockets

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
INSTALL_HINT = "install it with: apt-get update && apt-get install -y prometheus"


class PrometheusNotFound(RuntimeError):
    pass


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise PrometheusNotFound(f"{name} is not on PATH nor in /usr/bin; {INSTALL_HINT}")
    return path


def promtool_path() -> str:
    return _binary("promtool")


def prometheus_path() -> str:
    return _binary("prometheus")


def yilin_job(config: Path = PROMETHEUS_DIR / "prometheus.yml", job: str = "yilin") -> dict:
    """The named scrape job of a config file, without its targets."""
    for scrape in yaml.safe_load(config.read_text(encoding="utf-8"))["scrape_configs"]:
        if scrape["job_name"] == job:
            return {k: v for k, v in scrape.items() if not k.endswith("_sd_configs") and k != "static_configs"}
    raise KeyError(f"no job {job!r} in {config}")


Target = str | tuple[str, Mapping[str, str]]


class PrometheusServer:
    def __init__(self, url: str, log: Path, process: subprocess.Popen):
        self.url = url
        self.log = log
        self.process = process

    def api(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            # Bad queries answer 400 with a JSON error body worth showing.
            body = json.load(error)
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """Instant vector result of expr, as the HTTP API returns it."""
        data = self.api("/api/v1/query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [data["result"]]

    def targets(self) -> list[dict]:
        return self.api("/api/v1/targets", state="active")["activeTargets"]

    def wait_until_up(self, count: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        targets: list[dict] = []
        while time.monotonic() < deadline:
            self._check_alive()
            targets = self.targets()
            if len(targets) >= count and all(t["health"] == "up" for t in targets):
                return targets
            time.sleep(0.2)
        states = ", ".join(f"{t['scrapeUrl']}={t['health']} {t.get('lastError', '')}" for t in targets)
        # Discovery hands new targets to the scraper only every 5 s.
        raise TimeoutError(f"targets not all up after {timeout}s: {states or 'none discovered yet'}")

    def wait_for(self, expr: str, timeout: float = 15.0) -> list[dict]:
        """Poll until expr returns at least one sample (e.g. a recording rule's first run)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.2)
        raise TimeoutError(f"{expr} returned nothing within {timeout}s")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")


class PrometheusQueryError(RuntimeError):
    pass


def _config(
    targets: Sequence[Target],
    labels: Mapping[str, str] | None,
    job: dict,
    scrape_interval: str,
    rule_files: Sequence[Path],
) -> dict:
    static = []
    for target in targets:
        address, extra = (target, {}) if isinstance(target, str) else target
        static.append({"targets": [address], "labels": {**(labels or {}), **extra}})
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(Path(p).resolve()) for p in rule_files],
        "scrape_configs": [
            {**job, "scrape_interval": scrape_interval, "scrape_timeout": scrape_interval, "static_configs": static}
        ],
    }


def _start(config_file: Path, storage: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        prometheus_path(),
        f"--config.file={config_file}",
        f"--storage.tsdb.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
        "--log.level=warn",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen, url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"prometheus at {url} not ready after {timeout}s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def running_prometheus(
    targets: Sequence[Target],
    *,
    labels: Mapping[str, str] | None = None,
    job: dict | None = None,
    scrape_interval: str = "1s",
    rule_files: Sequence[Path] = (),
    wait_up: bool = True,
    timeout: float = 30.0,
) -> Iterator[PrometheusServer]:
    """Run Prometheus against `targets` ("host:port" or ("host:port", {label: value})).

    `labels` are added to every target; `job` replaces the scrape job taken from
    deploy/prometheus/prometheus.yml. With wait_up (the default) the context is
    entered only once every target has been scraped successfully.
    """
    job = dict(job if job is not None else yilin_job())
    with tempfile.TemporaryDirectory(prefix="yilin-prometheus-") as tmp:
        tmp_path = Path(tmp)
        config_file = tmp_path / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(_config(targets, labels, job, scrape_interval, rule_files)))
        log = tmp_path / "prometheus.log"
        # The free port may be taken between choosing and binding it; try again.
        for _attempt in range(3):
            process, url = _start(config_file, tmp_path / "data", log)
            try:
                if _wait_ready(process, url, timeout):
                    break
            except BaseException:
                _stop(process)
                raise
        else:
            raise RuntimeError(f"prometheus did not start:\n{log.read_text()[-3000:]}")
        server = PrometheusServer(url, log, process)
        try:
            if wait_up:
                server.wait_until_up(len(targets), timeout)
            yield server
        finally:
            _stop(process)
