"""A three-node RabbitMQ cluster on this machine, for the fault suite
(tests/faults/test_cluster.py) and the bench's cluster stage (bench/cluster.py).

Each node is the installed ``rabbitmq-server`` with its own node name, AMQP and
distribution ports, data, log and pid files under a temporary folder, no plugins and
no configuration file (the machine's ``/etc/rabbitmq/rabbitmq.conf`` pins the shared
broker's listener to 5672, so the nodes must not read it). The nodes share the Erlang
cookie of the ``rabbitmq`` user, which the launcher switches to; the second and third
join the first with ``rabbitmqctl join_cluster``. The shared broker (``rabbit@localhost``
on 5672/25672) is never touched: every command here names its node with ``-n``.

Services reach the cluster through one AMQP URI listing all three nodes separated by
``;`` (kombu's failover form), exactly as a deployment lists its brokers."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
BASE_PORT = int(os.environ.get("YILIN_CLUSTER_PORT", "5701"))  # AMQP 5701-5703, distribution 25701-25703
USER = "rabbitmq"
SHARED_PORTS = {5672, 25672}  # the shared broker's; never ours


def _exe(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_base_port(size: int = 3, start: int = BASE_PORT) -> int:
    """The first base port from ``start`` (in steps of 10) whose AMQP and distribution
    ports are all unused, so two clusters (a test run and a bench) never meet."""
    for base in range(start, start + 500, 10):
        ports = [p for i in range(size) for p in (base + i, base + i + 20000)]
        if not SHARED_PORTS & set(ports) and all(_port_free(p) for p in ports):
            return base
    raise RuntimeError(f"no free ports for a {size}-node cluster from {start}")


@dataclass
class Node:
    """One node of the cluster."""

    index: int
    name: str  # rabbit5701@localhost
    port: int  # AMQP
    dist_port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def log_dir(self) -> Path:
        return self.home / "log"

    def uri(self, vhost: str = "") -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.log_dir),
                "RABBITMQ_PID_FILE": str(self.pid_file),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
                "RABBITMQ_CONFIG_FILE": str(self.home / "no-such-config"),  # missing on purpose: defaults
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "no-such-advanced.config"),
                "RABBITMQ_CONF_ENV_FILE": str(self.home / "no-such-env.conf"),
                "RABBITMQ_LOGS": str(self.log_dir / "node.log"),
            }
        )
        return env

    def beam_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None


class Cluster:
    """Start, join, stop, kill and restart three local RabbitMQ nodes."""

    def __init__(self, size: int = 3, base_port: int | None = None, root: Path | None = None) -> None:
        base_port = base_port or free_base_port(size)
        self.root = Path(root or tempfile.mkdtemp(prefix="yilin-cluster-"))
        self._owned_root = root is None
        self.nodes = [
            Node(i, f"rabbit{base_port + i}@localhost", base_port + i, base_port + i + 20000, self.root / f"n{i}")
            for i in range(size)
        ]

    # -- what services are given ---------------------------------------------------------
    def uri(self, vhost: str = "", first: int = 0) -> str:
        """The failover URI: every node, ``;``-separated, starting with node ``first``
        (replicas given different starting nodes spread their connections)."""
        order = self.nodes[first:] + self.nodes[:first]
        return ";".join(node.uri(vhost) for node in order)

    def add_vhost(self, vhost: str) -> None:
        """A virtual host with full rights for ``guest`` (the nodes accept guest from localhost)."""
        node = self.live_nodes()[0]
        self.ctl(node, "add_vhost", vhost)
        self.ctl(node, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def live_nodes(self) -> list[Node]:
        return [node for node in self.nodes if node.beam_pid() is not None]

    # -- commands ------------------------------------------------------------------------
    def ctl(self, node: Node, *args: str, timeout: float = 90, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``rabbitmqctl -n NODE …``; never without ``-n``, so the shared broker is never the target."""
        return self._run("rabbitmqctl", node, args, timeout, check)

    def queues_ctl(
        self, node: Node, *args: str, timeout: float = 90, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``rabbitmq-queues -n NODE …``."""
        return self._run("rabbitmq-queues", node, args, timeout, check)

    def _run(
        self, tool: str, node: Node, args: tuple[str, ...], timeout: float, check: bool
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [_exe(tool), "-n", node.name, *args], capture_output=True, text=True, timeout=timeout, env=node.environ()
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{tool} -n {node.name} {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def await_quorum_safe(self, node: Node, timeout: float = 120) -> None:
        """Until stopping ``node`` would leave every quorum queue a majority (the
        restarted node before it has caught up): the check an operator runs between
        the steps of a rolling restart."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.queues_ctl(node, "check_if_node_is_quorum_critical", timeout=60, check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} stayed quorum-critical: {result.stdout}{result.stderr}")
            time.sleep(1)

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> "Cluster":
        """Start every node, join the others to the first, and wait until all run."""
        for node in self.nodes:
            self._prepare(node)
        for node in self.nodes:
            self.start_node(node, wait=False)
        for node in self.nodes:
            self.await_node(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        for node in self.nodes:
            self.await_node(node)
        running = self.running_nodes(first)
        if sorted(running) != sorted(n.name for n in self.nodes):
            raise RuntimeError(f"cluster did not form: {running}")
        return self

    def _prepare(self, node: Node) -> None:
        account = pwd.getpwnam(USER)
        for folder in (node.home, node.home / "mnesia", node.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        (node.home / "enabled_plugins").write_text("[].\n")
        for path in [self.root, *node.home.rglob("*"), node.home]:
            os.chown(path, account.pw_uid, account.pw_gid)

    def start_node(self, node: Node, wait: bool = True) -> None:
        """Launch the node as the ``rabbitmq`` user (whose home holds the shared cookie)."""
        node.pid_file.unlink(missing_ok=True)
        with open(node.log_dir / "console.log", "ab") as log:  # the child keeps its own copy of the descriptor
            node.process = subprocess.Popen(
                ["su", USER, "-s", "/bin/sh", "-c", f"exec {SERVER}"],
                env=node.environ(),
                cwd="/",
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.await_node(node)

    def await_node(self, node: Node, timeout: float = 120) -> None:
        """Until the node's RabbitMQ application runs (``rabbitmqctl await_startup``)."""
        deadline = time.monotonic() + timeout
        while True:
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited with {node.process.returncode}: {self.log_tail(node)}")
            result = self.ctl(node, "await_startup", "--timeout", "20", timeout=40, check=False)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not start: {result.stderr}\n{self.log_tail(node)}")
            time.sleep(1)

    def running_nodes(self, via: Node) -> list[str]:
        out = self.ctl(via, "cluster_status", "--formatter", "json").stdout
        return list(json.loads(out).get("running_nodes", []))

    def kill9(self, node: Node) -> None:
        """SIGKILL the node's Erlang VM: what a crashed machine does to the node."""
        pid = node.beam_pid()
        if pid is None:
            raise RuntimeError(f"{node.name} has no pid file")
        os.kill(pid, signal.SIGKILL)
        self._reap(node, 30)

    def stop_node(self, node: Node) -> None:
        """Stop the node cleanly (``rabbitmqctl stop``): a planned shutdown."""
        self.ctl(node, "stop", timeout=120)
        self._reap(node, 60)

    def _reap(self, node: Node, timeout: float) -> None:
        if node.process is not None:
            try:
                node.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait(10)
        # the VM's own pid too, in case the launcher went first
        pid = node.beam_pid()
        deadline = time.monotonic() + timeout
        while pid is not None and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        node.pid_file.unlink(missing_ok=True)

    def restart_node(self, node: Node) -> None:
        self.stop_node(node)
        self.start_node(node)

    def leaders(self, vhost: str = "/") -> dict[str, str]:
        """Quorum queue name → the node leading it."""
        for node in self.live_nodes():
            result = self.ctl(
                node, "list_queues", "-p", vhost, "name", "leader", "--formatter", "json", "--quiet", check=False
            )
            if result.returncode == 0:
                return {row["name"]: row.get("leader", "") for row in json.loads(result.stdout or "[]")}
        return {}

    def node_named(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def stop(self) -> None:
        """Stop every node (killing any that will not stop) and remove the folder."""
        for node in self.nodes:
            if node.beam_pid() is None and (node.process is None or node.process.poll() is not None):
                continue
            try:
                self.stop_node(node)
            except (RuntimeError, subprocess.TimeoutExpired):
                pid = node.beam_pid()
                if pid is not None and _alive(pid):
                    os.kill(pid, signal.SIGKILL)
                self._reap(node, 30)
        if self._owned_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, node: Node, chars: int = 3000) -> str:
        parts = []
        for path in sorted(node.log_dir.glob("*.log")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
