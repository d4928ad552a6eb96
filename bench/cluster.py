"""The event pipeline on a three-node RabbitMQ cluster beside the single broker: the same
drain as the pipeline stage (bench/pipeline.py), once through the shared broker and once
through a cluster started on this machine for the stage (yilinctl/local_cluster.py),
alternating single, cluster, cluster, single, … in the same run.

On the cluster the hours replica and the bench are given the failover URI listing every
node (``YILIN_AMQP_URI=pyamqp://…:5701/vh;pyamqp://…:5702/vh;…``), as a deployment lists
its brokers; the handler queues are quorum queues with a member on each node, so every
event is replicated to three Erlang VMs on this 2-core machine before it is delivered.
The cluster is stopped and its folder removed whatever happens."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace
from typing import Any

from bench import pipeline as pipe
from bench.environment import Environment
from yilinctl.local_cluster import Cluster

# Untimed events the replica handles before each drain (see pipeline._warm_up).
WARM_UP_EVENTS = 100


def unavailable() -> str | None:
    """Why no cluster can be started here, or None: the nodes run as the ``rabbitmq``
    user, which takes root to switch to (as in the fault suite)."""
    if os.geteuid() != 0:
        return "starting the cluster's nodes needs root (they run as the rabbitmq user)"
    return None


def measure(env: Environment, sizes: Any, report_memory: Any) -> dict[str, Any]:
    """Drain ``sizes.cluster_tickets`` tickets ``sizes.cluster_rounds`` times on each
    broker; the rate of each is its events over its summed drain time."""
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    env.migrate("hours")
    cluster = Cluster()
    on_cluster: Environment | None = None
    try:
        cluster.start()
        vhost = f"yilin-bench-{uuid.uuid4().hex[:8]}"
        cluster.add_vhost(vhost)
        # Same database, the cluster's own vhost; the hours replica starts on node 0.
        on_cluster = replace(env, amqp_uri=cluster.uri(vhost), vhost=vhost, processes=[])
        on_cluster.migrate("hours")  # the quorum queues and exchanges, declared on the cluster
        runs: dict[str, list[dict[str, Any]]] = {"single": [], "cluster": []}
        for round_ in range(sizes.cluster_rounds):
            order = ("single", "cluster") if round_ % 2 == 0 else ("cluster", "single")
            for broker in order:
                target = env if broker == "single" else on_cluster
                runs[broker].append(
                    pipe.run(
                        target,
                        sizes.cluster_tickets,
                        0,
                        report_memory,
                        with_latency=False,
                        warm_up_events=WARM_UP_EVENTS,
                    )
                )
        members = _queue_members(cluster, vhost)
    finally:
        if on_cluster is not None:
            on_cluster.stop_all()
        cluster.stop()
    return {
        "nodes": len(cluster.nodes),
        "uri": cluster.uri(vhost).replace("guest:guest@", ""),
        "quorum_queue_members": members,
        "single_per_second": _rate(runs["single"]),
        "cluster_per_second": _rate(runs["cluster"]),
        "round_ratios": [round(c["per_second"] / s["per_second"], 3) for s, c in zip(runs["single"], runs["cluster"])],
        "single": runs["single"],
        "cluster": runs["cluster"],
    }


def _rate(runs: list[dict[str, Any]]) -> float:
    return round(sum(run["events"] for run in runs) / sum(run["seconds"] for run in runs), 1)


def _queue_members(cluster: Cluster, vhost: str) -> dict[str, int]:
    """How many nodes hold each quorum queue of the hours service (3 on a formed cluster;
    the RPC queues are classic and have no members)."""
    node = cluster.live_nodes()[0]
    result = cluster.ctl(node, "list_queues", "-p", vhost, "name", "type", "members", "--formatter", "json", "--quiet")
    rows = json.loads(result.stdout or "[]")
    return {row["name"]: len(row.get("members") or []) for row in rows if row.get("type") == "quorum"}


def summary(result: dict[str, Any]) -> str:
    """One line for the report's note."""
    members = sorted(set(result["quorum_queue_members"].values()))
    return (
        f"{result['nodes']} nodes, quorum queues on {'/'.join(map(str, members))} nodes; "
        f"ratio per round {', '.join(f'{r:.2f}' for r in result['round_ratios'])}; "
        f"hours.verified repeated: {sum(run['hours_verified']['repeated_tickets'] for run in result['cluster'])}"
    )
