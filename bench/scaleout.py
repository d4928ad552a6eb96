"""Scale-out: the event pipeline's drain with two replicas of the hours service beside
one, each replica capped at ``replica_cpu_limit`` cores by a cgroup CPU quota in both
runs, as a pod is by its CPU limit.

Capped, the replicas are the bottleneck, so the ratio says whether the service scales
out (shared quorum queues, row locks, inbox, each replica's outbox relay) rather than
how much idle CPU this shared machine had. The runs alternate one, two, two, one, …
because the CPU an event costs drifts by ±20% from minute to minute with the machine's
other work; each figure is the events of its runs over their summed drain time. Every
replica first handles ``WARM_UP_EVENTS`` untimed events, as a long-running pod has. Where
no quota can be set, the runs go uncapped and the result says so and why."""

from __future__ import annotations

import os
from typing import Any

from bench import cpu_quota
from bench import pipeline as pipe
from bench.environment import Environment

# Untimed events every replica handles before each drain (see pipeline._warm_up).
WARM_UP_EVENTS = 100


def measure(env: Environment, sizes: Any, report_memory: Any) -> dict[str, Any]:
    env.migrate("hours")
    requested = sizes.replica_cpu_limit or None
    reason = cpu_quota.unavailable() if requested else "replica_cpu_limit is 0"
    cap = None if reason else requested
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for round_ in range(sizes.scaleout_rounds):
        for replicas in (1, 2) if round_ % 2 == 0 else (2, 1):
            runs[replicas].append(
                pipe.run(
                    env,
                    sizes.scaleout_tickets,
                    0,
                    report_memory,
                    replicas=replicas,
                    with_latency=False,
                    cpu_limit=cap,
                    warm_up_events=WARM_UP_EVENTS,
                )
            )
    every = runs[1] + runs[2]
    capped = cap is not None and all(run["replica_cpu_limit"] is not None for run in every)
    if cap is not None and not capped:
        reason = next(run["uncapped_reason"] for run in every if "uncapped_reason" in run)
    return {
        "replica_cpu_limit": cap if capped else None,
        "requested_cpu_limit": requested,
        "capped": capped,
        "uncapped_reason": None if capped else reason,
        "one_per_second": _rate(runs[1]),
        "two_per_second": _rate(runs[2]),
        "round_ratios": [round(two["per_second"] / one["per_second"], 3) for one, two in zip(runs[1], runs[2])],
        "cpu_budget": cpu_budget(runs[1], cap) if capped else None,
        "one": runs[1],
        "two": runs[2],
    }


def _rate(runs: list[dict[str, Any]]) -> float:
    return round(sum(run["events"] for run in runs) / sum(run["seconds"] for run in runs), 1)


def cpu_budget(one: list[dict[str, Any]], cap: float) -> dict[str, float]:
    """Whether two capped replicas leave the broker, the database and the bench room on
    this machine: the CPU the one-replica runs spent per event outside the replica
    (the broker counted whole, other users included, so an upper bound), at twice their
    rate, beside the two replicas' quota."""
    events = sum(run["events"] for run in one)
    outside = sum(run["cpu_seconds_around"][k] for run in one for k in ("broker", "database", "bench")) / events
    others = 2 * _rate(one) * outside
    return {
        "replicas": round(2 * cap, 2),
        "broker_database_bench_at_twice_the_rate": round(others, 2),
        "total": round(2 * cap + others, 2),
        "cores": float(os.cpu_count() or 0),
    }


def summary(result: dict[str, Any]) -> str:
    """One line: the cap, the CPU each replica used, how the two replicas shared the work."""

    def cores(runs: list[dict[str, Any]]) -> str:
        return ", ".join(" + ".join(f"{r['cpu_cores']:.2f}" for r in run["replica"]) for run in runs)

    def per_event(runs: list[dict[str, Any]]) -> str:
        return ", ".join(f"{run['cpu_ms_per_event']['hours']:.1f}" for run in runs)

    def each(key: Any) -> str:
        return ", ".join(" + ".join(str(key(r)) for r in run["replica"]) for run in result["two"])

    cap = result["replica_cpu_limit"]
    repeated = sum(
        run["hours_verified"]["repeated_ids"] + run["hours_verified"]["repeated_tickets"]
        for run in result["one"] + result["two"]
    )
    head = (
        f"each hours replica capped at {cap:g} CPU (cgroup CPU quota)"
        if cap is not None
        else f"hours replicas UNCAPPED ({result['uncapped_reason']}): the ratio measures the box's idle CPU, "
        f"not the service"
    )
    return (
        f"{head}; ratio per round {', '.join(f'{r:.2f}' for r in result['round_ratios'])}; CPU used in the "
        f"drain, cores: 1 replica {cores(result['one'])}; 2 replicas {cores(result['two'])}; "
        f"replica CPU per event {per_event(result['one'])} ms with 1, {per_event(result['two'])} ms with 2; "
        f"the 2 replicas handled {each(lambda r: r['events_handled'])} events and published "
        f"{each(lambda r: r['events_published'].get('hours.verified', 0))} hours.verified; "
        f"hours.verified repeated: {repeated}"
    )
