"""The fault suite on a three-node RabbitMQ cluster (yilinctl/local_cluster.py): real hours
processes consume a stream of work through the failover URI while a node is killed,
stopped, or every node is restarted in turn. Each scenario ends with every unit of work
applied once, and adds its line to the chaos report.

Marked ``cluster``: ``make chaos`` runs them; ``make test`` deselects them (``-m "not
cluster"``), since three more Erlang nodes do not fit beside the suite on a small machine."""

from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest
from kombu import Connection, Exchange, Producer, Queue

from tests.faults.conftest import ChaosReport
from tests.faults.scenario import Scenario
from tests.faults.targets import HOURS
from tests.faults.test_chaos import SLOW, record
from yilin import topology
from yilinctl.local_cluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    nodes = Cluster()
    try:  # a cluster that fails to form is stopped too: no node outlives the tests
        yield nodes.start()
    finally:
        nodes.stop()


@pytest.fixture
def vhost(cluster: Cluster) -> str:
    name = f"yilin-chaos-{uuid.uuid4().hex[:8]}"
    cluster.add_vhost(name)
    return name


def _scenario(cluster: Cluster, vhost: str, pg_url: str, events: int, seconds: float) -> Scenario:
    # The publisher (and the queue declarations, so the queues' leaders) start on node 0;
    # replica i starts on node i, so each node carries some client.
    return Scenario(HOURS, cluster.uri(vhost), pg_url, events, seconds=seconds)


def _replicas(scenario: Scenario, cluster: Cluster, vhost: str) -> None:
    for first in (0, 1):
        scenario.start(amqp_uri=cluster.uri(vhost, first=first), YILIN_CHAOS_HANDLER_DELAY=SLOW)


def _finish(scenario: Scenario, report: ChaosReport, name: str, faults: int, **figures: object) -> None:
    """Settle, stop the replicas and record. The quorum delivery limit is sized for
    crashes (a delivery a lost connection hands back counts towards it), so a node's
    loss parks nothing: the dead-letter queue must be empty without any replay."""
    try:
        assert scenario.settle(timeout=240), scenario.logs()
        assert all(p.process.poll() is None for p in scenario.processes), "a consumer died with a node"
    finally:
        scenario.stop_all()
    record(report, name, scenario, faults, parked=scenario.dead_lettered(), **figures)
    assert scenario.dead_lettered() == 0


def test_harness_forms_a_cluster_whose_quorum_queue_survives_its_leader(cluster: Cluster, vhost: str) -> None:
    """The harness itself, at small size: three running nodes, and a quorum queue keeps
    every confirmed message when its leader is killed with -9."""
    assert sorted(cluster.running_nodes(cluster.nodes[2])) == sorted(n.name for n in cluster.nodes)
    exchange = Exchange("harness", type="direct", durable=True)
    queue = Queue("harness-q", exchange, routing_key="k", durable=True, queue_arguments={"x-queue-type": "quorum"})
    with Connection(cluster.uri(vhost), transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        queue(conn.default_channel).declare()
        for i in range(200):
            producer.publish({"i": i}, exchange=exchange, routing_key="k", delivery_mode=2)
    leader = cluster.node_named(cluster.leaders(vhost)["harness-q"])
    cluster.kill9(leader)
    try:
        survivor = cluster.live_nodes()[0]
        received: set[int] = set()
        with Connection(cluster.uri(vhost, first=survivor.index), connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=3)
            deadline = time.monotonic() + 60
            # Read every message back (a new leader answers once elected; its message
            # count may lag, the messages themselves may not).
            while len(received) < 200 and time.monotonic() < deadline:
                try:
                    message = queue(conn.channel()).get(no_ack=True)
                except Exception:  # noqa: BLE001 - no leader yet: ask again
                    time.sleep(1)
                    continue
                if message is None:
                    time.sleep(0.5)
                else:
                    received.add(message.payload["i"])
        assert received == set(range(200))
        assert cluster.leaders(vhost)["harness-q"] != leader.name
    finally:
        cluster.start_node(leader)


def test_cluster_leader_killed_with_sigkill(
    cluster: Cluster, vhost: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """kill -9 the node leading the handler queues mid-stream; bring it back after."""
    scenario = _scenario(cluster, vhost, pg_url, chaos_events, seconds=16)
    _replicas(scenario, cluster, vhost)
    queues = {topology.handler_queue_name(s, e, HOURS.service, m) for s, e, m in topology.service_handlers(HOURS.cls())}
    scenario.publish()
    time.sleep(4)
    leaders = {name: node for name, node in cluster.leaders(vhost).items() if name in queues}
    victim = cluster.node_named(max(set(leaders.values()), key=list(leaders.values()).count))
    cluster.kill9(victim)
    deadline = time.monotonic() + 60
    while True:  # the survivors elect new leaders within seconds
        time.sleep(2)
        moved = {name: node for name, node in cluster.leaders(vhost).items() if name in queues}
        if (moved.keys() == queues and victim.name not in moved.values()) or time.monotonic() > deadline:
            break
    cluster.start_node(victim)
    assert moved.keys() == queues and victim.name not in moved.values(), moved
    _finish(scenario, chaos_report, "cluster-leader-kill9", 1, killed=victim.name.split("@")[0])


def test_cluster_node_stopped_and_brought_back(
    cluster: Cluster, vhost: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """``rabbitmqctl stop`` on the node one replica is connected to, for several seconds
    mid-stream, then start it again; it rejoins and catches up."""
    scenario = _scenario(cluster, vhost, pg_url, chaos_events, seconds=16)
    _replicas(scenario, cluster, vhost)
    scenario.publish()
    time.sleep(4)
    node = cluster.nodes[1]
    cluster.stop_node(node)
    time.sleep(5)
    cluster.start_node(node)
    assert node.name in cluster.running_nodes(cluster.nodes[0])
    _finish(scenario, chaos_report, "cluster-node-stop", 1)


def test_cluster_nodes_restarted_one_by_one(
    cluster: Cluster, vhost: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """A rolling restart of the broker: each node in turn is stopped and started while
    the stream flows, waiting before each stop until it is not quorum-critical."""
    scenario = _scenario(cluster, vhost, pg_url, chaos_events, seconds=30)
    _replicas(scenario, cluster, vhost)
    scenario.publish()
    restarts = 0
    for node in reversed(cluster.nodes):
        time.sleep(2)
        cluster.await_quorum_safe(node)
        cluster.restart_node(node)
        restarts += 1
    assert sorted(cluster.running_nodes(cluster.nodes[0])) == sorted(n.name for n in cluster.nodes)
    _finish(scenario, chaos_report, "cluster-rolling-restart", restarts)
