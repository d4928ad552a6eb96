"""The bench stages, in the order they run; each adds its ratios to the report."""

from __future__ import annotations

import time
from typing import Any

from bench import baselines as base
from bench.environment import Environment
from bench.report import Figure, Ratio, Report


def baselines(env: Environment, sizes: Any, report: Report) -> None:
    """The broker's and the database's own ceilings, and a no-op nameko handler."""
    raw = base.raw_amqp(env, sizes.raw_events)
    noop = base.noop_handler(env, sizes.noop_events)
    commits = base.durable_commits(env, sizes.commit_seconds)
    report.details["baselines"] = {"raw_amqp": raw, "noop_handler": noop, "pg_commits": commits}
    report.memory("noop", noop["peak_rss_mib"])
    report.add(
        Ratio(
            "noop_vs_raw_amqp",
            Figure("no-op nameko handler", noop["per_second"], "ev/s"),
            Figure("plain AMQP consumer", raw["per_second"], "msg/s"),
            note="context: what nameko itself costs per event",
        )
    )


def gateway(env: Environment, sizes: Any, report: Report) -> None:
    """Reads through the whole HTTP → gateway → RPC → service → database path."""
    from bench import gateway as gw
    from bench import seed

    processes = gw.start_stack(env, ("registry", "tickets", "hours", "gateway"))
    with seed.cluster(env.config()) as rpc:
        district = seed.places(rpc, 2, 5)
        seed.teams(rpc, district, 3)
        rpc.registry.import_volunteers(seed.volunteer_rows(1, 300, district.communities))
        page = rpc.registry.list_volunteers({"limit": 200})
        district.volunteers = [v["id"] for v in page["items"]]
        extra = gw_extra_paths(rpc, district)
    results = gw.measure(env, sizes, district, extra, processes)
    for process in list(processes.values()):
        env.stop(process)
    report.details["gateway"] = results
    for name, mib in results["memory"].items():
        report.memory(name, mib)
    report.memory("bare", results["bare"]["peak_rss_mib"])
    bare = results["bare"]
    mixed = results["mixed_reads"]
    report.add(
        Ratio(
            "gateway_vs_bare",
            Figure("gateway reads (mix)", mixed["per_second"], "req/s"),
            Figure("bare nameko HTTP", bare["per_second"], "req/s"),
            target=0.5,
            note=f"p99 {mixed['p99_ms']} ms vs {bare['p99_ms']} ms; errors {mixed['errors']}",
        )
    )
    for name in results:
        if name in ("bare", "mixed_reads", "memory"):
            continue
        r = results[name]
        report.add(
            Ratio(
                f"gateway_{name}_vs_bare",
                Figure(name, r["per_second"], "req/s"),
                Figure("bare", bare["per_second"], "req/s"),
                note=f"p99 {r['p99_ms']} ms vs {bare['p99_ms']} ms; errors {r['errors']}",
            )
        )


def gw_extra_paths(rpc: Any, district: Any) -> dict[str, list[str]]:
    """The ticket list page and hour totals, from the services merged on this branch."""
    from bench.environment import wait_until
    from services import SERVICES

    extra: dict[str, list[str]] = {}
    if "tickets" in SERVICES:
        extra["ticket_list_page"] = [f"/api/v1/tickets?limit=20&community_id={c}" for c in district.communities]
    else:
        extra["list_page"] = [f"/api/v1/volunteers?limit=20&community_id={c}" for c in district.communities]
    if "hours" in SERVICES:
        # the hours service learns volunteers from the registry's events
        last = district.volunteers[:100][-1]
        wait_until(lambda: _known(rpc, last), 60, "the hours projection to catch up", interval=0.2)
        extra["hour_totals"] = [f"/api/v1/hours/volunteers/{v}/totals" for v in district.volunteers[:100]]
    return extra


def _known(rpc: Any, volunteer_id: str) -> bool:
    from yilin.errors import NotFound

    try:
        rpc.hours.volunteer_total(volunteer_id)
        return True
    except NotFound:
        return False


def district(env: Environment, sizes: Any, report: Report) -> None:
    """The district's volumes: import beside COPY, then the hour ledger at scale and
    its standing queries beside raw SQL."""
    from bench import district as dist
    from bench import gateway as gw
    from bench import seed

    processes = gw.start_stack(env, ("registry", "fund"))
    # More registry replicas share the import's calls in flight, as on a cluster.
    replicas = [processes["registry"], *(env.start("registry") for _ in range(sizes.import_replicas - 1))]
    details: dict[str, Any] = {}
    with seed.cluster(env.config()) as rpc:
        streets, per_street = (2, 5) if sizes.volunteers < 50_000 else (10, 20)
        area = seed.places(rpc, streets, per_street)
        began = time.perf_counter()
        seed.teams(rpc, area, sizes.teams)
        details["teams"] = {"rows": sizes.teams, "seconds": round(time.perf_counter() - began, 2)}
        for replica in replicas[1:]:
            replica.wait_ready()
        details["import"] = dist.import_volunteers(env.config(), area, sizes.volunteers, replicas)
        for replica in replicas:
            report.memory("registry", replica.peak_rss_mib())
        if "fund" in processes:
            details["enterprises"] = dist.register_enterprises(rpc, area, sizes.enterprises)
            report.memory("fund", processes["fund"].peak_rss_mib())
    details["copy"] = dist.copy_same_rows(env)
    report.details["district"] = details
    report.add(
        Ratio(
            "import_vs_copy",
            Figure("volunteer import (RPC)", details["import"]["per_second"], "rows/s"),
            Figure("COPY of the same rows", details["copy"]["per_second"], "rows/s"),
            target=0.25,
            note=f"{details['import']['rows']} volunteers, {len(replicas)} registry replicas; registry CPU "
            f"{details['import'].get('registry_cpu_ms_per_1000_rows')} ms per 1,000",
        )
    )
    for process in [*processes.values(), *replicas[1:]]:
        env.stop(process)
    env.district = area


def ledger(env: Environment, sizes: Any, report: Report) -> None:
    """The hour ledger at district scale and its standing queries beside raw SQL
    (on the district the previous stage imported)."""
    from bench import district as dist

    if env.district is None:
        raise RuntimeError("the ledger stage needs the district stage before it")
    dist.hours_at_scale(env, sizes, report, env.district)


def growth(env: Environment, sizes: Any, report: Report) -> None:
    """One hour ledger grown in place (10 → 40 million entries in the full run): the
    pipeline's rate and CPU per event, and the standing queries' p99, at both sizes."""
    from bench import growth as grown

    details = grown.measure(env, sizes, report)
    report.details["growth"] = details
    small, large = details["at_from"], details["at_to"]
    at_small, at_large = f"at {sizes.growth_from:,} entries", f"at {sizes.growth_to:,} entries"
    report.add(
        Ratio(
            "rate_10m_vs_40m",
            Figure(f"pipeline {at_small}", small["pipeline"]["per_second"], "ev/s"),
            Figure(at_large, large["pipeline"]["per_second"], "ev/s"),
            target=1.2,
            higher_is_better=False,
            note=f"best of {sizes.growth_rounds}: {small['pipeline']['rounds_per_second']} vs "
            f"{large['pipeline']['rounds_per_second']} ev/s",
        )
    )
    report.add(
        Ratio(
            "cpu_40m_vs_10m",
            Figure(f"CPU per event {at_large}", large["pipeline"]["cpu_ms_per_event"], "ms"),
            Figure(at_small, small["pipeline"]["cpu_ms_per_event"], "ms"),
            target=1.2,
            higher_is_better=False,
            note="the hours process and its database backends; "
            f"{small['pipeline']['cpu_ms_per_event_by_process']} vs {large['pipeline']['cpu_ms_per_event_by_process']}",
        )
    )
    for name in small["queries"]:
        report.add(
            Ratio(
                f"query_{name}_p99_40m_vs_10m",
                Figure(f"{name} p99 {at_large}", large["queries"][name]["p99_ms"], "ms"),
                Figure(at_small, small["queries"][name]["p99_ms"], "ms"),
                target=1.5,
                higher_is_better=False,
                note=f"raw SQL; p50 {large['queries'][name]['p50_ms']} vs {small['queries'][name]['p50_ms']} ms",
            )
        )


def _baseline(env: Environment, sizes: Any, report: Report) -> dict[str, Any]:
    if "baselines" not in report.details:
        baselines(env, sizes, report)
    return report.details["baselines"]


def pipeline(env: Environment, sizes: Any, report: Report) -> None:
    """ticket events → verified hours committed → hours.verified, beside the no-op
    handler, the raw consumer and one connection's commits."""
    from bench import pipeline as pipe

    base_figures = _baseline(env, sizes, report)
    env.migrate("hours")
    result = pipe.run(env, sizes.pipeline_tickets, sizes.latency_seconds, report.memory)
    report.details["pipeline"] = result
    lat = result["latency"]
    figure = Figure("pipeline", result["per_second"], "ev/s")
    report.add(
        Ratio(
            "pipeline_vs_noop",
            figure,
            Figure("no-op nameko handler", base_figures["noop_handler"]["per_second"], "ev/s"),
            target=0.5,
            note=f"latency occurred_at→commit p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms "
            f"at {lat['offered_events_per_second']} ev/s offered",
        )
    )
    report.add(
        Ratio(
            "pipeline_vs_commit",
            figure,
            Figure("1 PostgreSQL connection", base_figures["pg_commits"]["per_second"], "commits/s"),
            target=1.0,
        )
    )
    report.add(
        Ratio(
            "pipeline_vs_raw_amqp",
            figure,
            Figure("plain AMQP consumer", base_figures["raw_amqp"]["per_second"], "msg/s"),
        )
    )
    report.add(
        Ratio(
            "pipeline_p99_vs_p50",
            Figure("p99 latency", lat["p99_ms"], "ms"),
            Figure("p50 latency", lat["p50_ms"], "ms"),
            target=2.5,  # the latency's spread may not grow for the sake of the rate
            higher_is_better=False,
            note="occurred_at → commit, paced at half the drain rate",
        )
    )


def scaleout(env: Environment, sizes: Any, report: Report) -> None:
    """The same drain with two replicas of the hours service beside one, each replica
    capped like a pod under a CPU limit (bench/scaleout.py)."""
    from bench import scaleout as scale

    result = scale.measure(env, sizes, report.memory)
    cap = result["replica_cpu_limit"]
    report.settings["replica_cpu_limit"] = cap
    report.details["scaleout"] = result
    label = f" × {cap:g} CPU" if cap is not None else " uncapped"
    line = scale.summary(result)
    report.add(
        Ratio(
            "replicas_2_vs_1",
            Figure(f"2 replicas{label}", result["two_per_second"], "ev/s"),
            Figure(f"1 replica{label}", result["one_per_second"], "ev/s"),
            target=1.6,
            note=line,
        )
    )
    report.notes.append("scale-out: " + line)


def cluster(env: Environment, sizes: Any, report: Report) -> None:
    """The pipeline's drain on a three-node RabbitMQ cluster beside the single broker,
    alternating in the same run (bench/cluster.py); skipped under --quick."""
    from bench import cluster as clustered

    if not sizes.cluster_rounds:
        report.skip("pipeline_cluster_vs_single", "skipped in --quick")
        return
    result = clustered.measure(env, sizes, report.memory)
    report.details["cluster"] = result
    report.add(
        Ratio(
            "pipeline_cluster_vs_single",
            Figure("pipeline on a 3-node cluster", result["cluster_per_second"], "ev/s"),
            Figure("on the single broker", result["single_per_second"], "ev/s"),
            target=0.7,
            note=clustered.summary(result),
        )
    )


def signups(env: Environment, sizes: Any, report: Report) -> None:
    """Concurrent volunteers signing up through the gateway beside the bare entrypoint
    under as many callers (bench/signups.py)."""
    from bench import signups as rush

    result = rush.measure(env, sizes)
    report.details["signups"] = result
    for name, mib in result["memory"].items():
        report.memory(name, mib)
    bare, signed = result["bare"], result["sign_ups"]
    stored = signed["stored"]
    report.add(
        Ratio(
            "signup_vs_bare",
            Figure(
                f"sign-ups, {signed['callers']} volunteers, activities ×{signed['activities_replicas']}"
                + (" as deployed" if signed["activities_replicas"] > 1 else ""),
                signed["per_second"],
                "req/s",
            ),
            Figure("bare nameko HTTP", bare["per_second"], "req/s"),
            target=0.25,
            note=f"p99 {signed['p99_ms']} ms vs {bare['p99_ms']} ms; {result['activities']} activities; "
            f"other answers {signed['statuses'] or 'none'}; callers out of activities {signed['exhausted']}; "
            f"answered 2xx {signed['answered_ok']}, stored {stored['confirmed']} confirmed + "
            f"{stored['waiting']} waiting; CPU ms per sign-up {signed['cpu_ms_per_sign_up']}",
        )
    )
