"""What one bench run stands on: its own RabbitMQ virtual host and PostgreSQL database
(both removed at the end), service processes started as operators start them, and the
small measuring tools every stage shares."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import psycopg2
from kombu import Connection

from bench.cpu_quota import CpuQuota
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parent.parent
RABBIT_HOST = os.environ.get("YILIN_BENCH_RABBIT", "127.0.0.1:5672")
PG_ADMIN_URL = os.environ.get("YILIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=60)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far, seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class ServiceProcess:
    """One service process, started the way ``yilin serve`` starts it (``module`` lets
    the bench start its own baseline services the same way). With ``cpu_quota`` it runs
    inside that cgroup (capped once the quota is applied), like a pod with a CPU limit."""

    def __init__(
        self,
        name: str,
        env: "Environment",
        module: str = "yilinctl.cli",
        args: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
        cpu_quota: CpuQuota | None = None,
        root: Path | None = None,
    ) -> None:
        self.name = name
        self.cpu_quota = cpu_quota
        self.metrics_port = free_port()
        self.http_port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix=f"yilin-bench-{name}-", suffix=".log", delete=False)
        environ = dict(os.environ)
        environ.update(
            {
                "YILIN_AMQP_URI": env.amqp_uri,
                "YILIN_DATABASE_URL": env.database_url,
                "YILIN_METRICS_PORT": str(self.metrics_port),
                "YILIN_HTTP_ADDRESS": f"127.0.0.1:{self.http_port}",
                "YILIN_LOG_FORMAT": "text",
                "YILIN_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "YILIN_ENV": "development",  # a local measurement: the development defaults of deploy/config.yml
            }
        )
        self.extra_env = extra_env or {}
        environ.update(self.extra_env)
        # another checkout (``root``) runs with its own virtual environment: its code, as built
        python = str(root / ".venv" / "bin" / "python") if root is not None else sys.executable
        command = [python, "-m", module, *(args or ("serve", name))]
        if cpu_quota is not None:
            command = cpu_quota.wrap(command)
        self.process = subprocess.Popen(
            command, cwd=root or ROOT, env=environ, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60.0, probe: Callable[[], bool] | None = None) -> "ServiceProcess":
        import requests

        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            if probe is not None:
                return probe()
            try:
                return requests.get(f"http://127.0.0.1:{self.metrics_port}/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout, f"{self.name} ready", interval=0.1)
        return self

    def peak_rss_mib(self) -> float:
        return peak_rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.cpu_quota is not None:
            self.cpu_quota.remove()
        Path(self.log.name).unlink(missing_ok=True)


@dataclass
class Environment:
    """One vhost and one database for the whole run."""

    amqp_uri: str
    database_url: str
    vhost: str
    database: str
    processes: list[ServiceProcess] = field(default_factory=list)
    district: Any = None  # what the district stage created, for the ledger stage

    @classmethod
    @contextmanager
    def create(cls) -> Iterator["Environment"]:
        tag = uuid.uuid4().hex[:8]
        vhost, database = f"yilin-bench-{tag}", f"yilin_bench_{tag}"
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{database}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        env = cls(f"pyamqp://guest:guest@{RABBIT_HOST}/{vhost}", f"{base}/{database}", vhost, database)
        try:
            with Connection(env.amqp_uri, connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=3)
            yield env
        finally:
            for process in env.processes:
                process.stop()
            from yilin.db import _engines

            for key in list(_engines):
                _engines.pop(key).dispose()
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.close()
            for _attempt in range(3):  # the broker refuses now and then while it is busy
                try:
                    rabbitmqctl("delete_vhost", vhost)
                    break
                except subprocess.CalledProcessError:
                    time.sleep(2)

    # -- configuration and processes ---------------------------------------------------
    def config(self, **extra: Any) -> dict[str, Any]:
        """nameko config for clients in the bench process (RPC proxies, migrations)."""
        return {
            "AMQP_URI": self.amqp_uri,
            "DATABASE_URL": self.database_url,
            "serializer": "json",
            "METRICS_PORTS": {},
            "ENVIRONMENT": "development",
            **extra,
        }

    def start(self, name: str, **kwargs: Any) -> ServiceProcess:
        process = ServiceProcess(name, self, **kwargs)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in list(self.processes):
            self.stop(process)

    def stop(self, process: ServiceProcess) -> None:
        process.stop()
        self.processes.remove(process)

    def migrate(self, *names: str) -> None:
        """Migrate databases and declare the topology, as ``yilin migrate`` does."""
        from yilin import migrations, topology
        from yilin.config import database_url
        from yilinctl.cli import migrations_dir, service_class

        for name in names:
            folder = migrations_dir(name)
            if folder is not None:
                migrations.upgrade(name, database_url(self.config(), name, environ={}), folder)
            topology.declare(self.amqp_uri, [service_class(name)])

    # -- database ------------------------------------------------------------------------
    def pg(self, schema: str | None = None) -> Any:
        """A plain psycopg2 connection to the run's database."""
        conn = psycopg2.connect(self.database_url)
        if schema:
            with conn.cursor() as cur:
                cur.execute(f'SET search_path TO "{schema}"')
            conn.commit()
        return conn

    # -- broker --------------------------------------------------------------------------
    def queue_depth(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers) of a queue."""
        with Connection(self.amqp_uri, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=10, interval_start=1, interval_step=1, interval_max=3)
            channel = conn.channel()
            _, messages, consumers = channel.queue_declare(queue, passive=True)
            channel.close()
        return messages, consumers


def run_json(module: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run a bench helper module in its own process; it prints one JSON object last."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
