"""District-scale data: the bulk import beside ``COPY`` of the same rows, the bulk of
the hour ledger written straight into its tables, and the standing queries beside the
same SQL run raw."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any, Callable, Sequence

from bench import seed
from bench.environment import Environment, run_json
from services.registry.importing import send_batches

IMPORT_BATCH = 1000  # what `yilin import` sends per RPC call (and, like it, four calls in flight)


def import_volunteers(
    config: dict[str, Any], district: seed.District, count: int, registries: Sequence[Any] = ()
) -> dict[str, Any]:
    """Volunteers through the registry's import RPC, batch by batch, as `yilin import` sends
    them: four calls in flight, each batch with its write key (a key for the run stands for
    the file's digest). With the CPU time the ``registries`` processes spent on them,
    steadier than wall time on a busy machine."""
    created = 0
    base = random.randrange(10**6, 10**12)  # fresh ID numbers should a retried stage import again
    batches = (
        seed.volunteer_rows(base + start, min(IMPORT_BATCH, count - start), district.communities)
        for start in range(0, count, IMPORT_BATCH)
    )
    context = seed.operator_context(config)
    with seed.cluster(config, context) as rpc:
        cpu = sum(registry.cpu_seconds() for registry in registries)
        started = time.perf_counter()
        keyed = (context, f"import-volunteers:bench-{uuid.uuid4().hex}:{IMPORT_BATCH}")
        for _, result in send_batches(rpc.registry, batches, keyed=keyed):
            if result["rejected"]:
                raise RuntimeError(f"import rejected rows: {result['rejected'][:3]}")
            created += result["created"]
    elapsed = time.perf_counter() - started
    result = {
        "rows": created,
        "seconds": round(elapsed, 2),
        "per_second": round(created / elapsed, 1),
        "registry_replicas": len(registries),
    }
    if registries:
        used = sum(registry.cpu_seconds() for registry in registries) - cpu
        result["registry_cpu_ms_per_1000_rows"] = round(used * 1e6 / max(created, 1), 1)
    return result


def copy_same_rows(env: Environment) -> dict[str, Any]:
    """``COPY`` of the imported volunteer and skill rows, exactly as stored."""
    return run_json("bench.probes", "copy", env.database_url, "registry", "volunteers", "volunteer_skills")


def timed(call: Callable[[], Any], samples: int) -> dict[str, float]:
    """p50/p99 of ``samples`` sequential calls, ms."""
    call()
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    times.sort()
    return {
        "samples": samples,
        "p50_ms": round(times[len(times) // 2] * 1000, 2),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 2),
    }


def register_enterprises(rpc: Any, district: seed.District, count: int) -> dict[str, Any]:
    """Social enterprises through the fund service (each checked with the registry),
    twenty calls in flight at a time."""
    owner = district.organisation_id
    started = time.perf_counter()
    done = 0
    for start in range(0, count, 20):
        replies = [
            rpc.fund.register_enterprise.call_async(
                {
                    "code": f"SE-{uuid.uuid4().hex[:10].upper()}",
                    "name": f"社会企业{i}",
                    "community_id": district.communities[i % len(district.communities)],
                    "owner_organisation_id": owner,
                }
            )
            for i in range(start, min(count, start + 20))
        ]
        done += sum(1 for reply in replies if reply.result())
    elapsed = time.perf_counter() - started
    return {"rows": done, "seconds": round(elapsed, 2), "per_second": round(done / elapsed, 1)}


LOAD_SQL = """
-- The ledger stage starts from an empty ledger (a retried stage loads again).
TRUNCATE entries, entry_transitions, volunteer_totals, team_members CASCADE;
INSERT INTO volunteers (id, number, community_id, status)
    SELECT id, number, community_id, status FROM registry.volunteers ON CONFLICT DO NOTHING;
INSERT INTO teams (id, code, organisation_id, community_id)
    SELECT id, code, organisation_id, community_id FROM registry.teams ON CONFLICT DO NOTHING;
CREATE TEMP TABLE bench_v AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id, community_id
    FROM registry.volunteers;
CREATE TEMP TABLE bench_t AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id, organisation_id
    FROM registry.teams;
INSERT INTO team_members (team_id, volunteer_id)
    SELECT t.id, v.id FROM bench_v v JOIN bench_t t ON t.rn = v.rn % {teams} ON CONFLICT DO NOTHING;
SET LOCAL maintenance_work_mem = '256MB';
-- Secondary indexes are built once after the load instead of row by row during it.
CREATE TEMP TABLE bench_idx AS SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'entries' AND indexname <> 'entries_pkey';
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexname FROM bench_idx LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
INSERT INTO entries (id, volunteer_id, source, source_id, organisation_id, team_id, community_id, served_on,
                     start_minute, end_minute, minutes, content, status, requested_by, decided_by, decided_at,
                     created_at)
    SELECT '00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'), v.id, 'activity',
           '10000000-0000-4000-8000-' || lpad(to_hex(g / 20), 12, '0'), t.organisation_id, t.id, v.community_id,
           date '2024-01-01' + (g * 7 % 900), 480 + g % 300, 480 + g % 300 + 30 + g % 150, 30 + g % 150,
           'community service', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'verified' END, 'bench',
           CASE WHEN g % 10 = 0 THEN NULL ELSE 'bench' END, CASE WHEN g % 10 = 0 THEN NULL ELSE now() END, now()
    FROM generate_series(0, {entries} - 1) AS g
    JOIN bench_v v ON v.rn = g % {volunteers}
    JOIN bench_t t ON t.rn = (g % {volunteers}) % {teams};
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexdef FROM bench_idx LOOP EXECUTE r.indexdef; END LOOP;
END $$;
INSERT INTO volunteer_totals (volunteer_id, verified_minutes, pending_minutes, star_level, selected, updated_at)
    SELECT volunteer_id, coalesce(sum(minutes) FILTER (WHERE status = 'verified'), 0),
           coalesce(sum(minutes) FILTER (WHERE status = 'pending'), 0), 0, false, now()
    FROM entries WHERE source = 'activity' GROUP BY volunteer_id
    ON CONFLICT (volunteer_id) DO UPDATE SET verified_minutes = excluded.verified_minutes,
                                             pending_minutes = excluded.pending_minutes;
UPDATE volunteer_totals SET star_level = CASE WHEN verified_minutes >= {s4} THEN 4 WHEN verified_minutes >= {s3} THEN 3
    WHEN verified_minutes >= {s2} THEN 2 WHEN verified_minutes >= {s1} THEN 1 ELSE 0 END;
ANALYZE volunteers; ANALYZE teams; ANALYZE team_members; ANALYZE entries; ANALYZE volunteer_totals;
"""

QUERIES = {
    "volunteer_total": "SELECT volunteer_id, verified_minutes, pending_minutes, star_level, selected "
    "FROM volunteer_totals WHERE volunteer_id = %(volunteer_id)s",
    "team_month": "SELECT team_members.team_id, sum(entries.minutes) AS minutes, count(DISTINCT entries.volunteer_id) "
    "FROM entries JOIN team_members ON team_members.volunteer_id = entries.volunteer_id "
    "WHERE entries.status = 'verified' AND entries.served_on >= %(from)s AND entries.served_on <= %(to)s "
    "AND entries.volunteer_id IN (SELECT team_members.volunteer_id FROM team_members "
    "WHERE team_members.team_id = %(team_id)s) "
    "GROUP BY team_members.team_id ORDER BY minutes DESC, team_members.team_id LIMIT 20",
    # all time: the running totals of the community's volunteers, as the service reads them
    "community_leaderboard": "SELECT volunteer_totals.volunteer_id, volunteer_totals.verified_minutes "
    "FROM volunteer_totals JOIN volunteers ON volunteers.id = volunteer_totals.volunteer_id "
    "WHERE volunteer_totals.verified_minutes > 0 AND volunteers.community_id = %(community_id)s "
    "ORDER BY volunteer_totals.verified_minutes + 0 DESC, volunteer_totals.volunteer_id LIMIT 20",
}


def purge_backlog(env: Environment, service: str) -> int:
    """Drop whatever waits in a service's event queues."""
    from kombu import Connection, Queue

    from yilin.topology import service_topology
    from yilinctl.cli import service_class

    purged = 0
    with Connection(env.amqp_uri, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=10, interval_start=1, interval_step=1, interval_max=3)
        channel = conn.channel()
        for entity in service_topology(service_class(service)):
            if isinstance(entity, Queue):
                purged += entity.bind(channel).purge() or 0
    return purged


def load_hour_ledger(env: Environment, volunteers: int, teams: int, entries: int) -> dict[str, Any]:
    """The ledger's bulk, written straight into the hours tables in SQL."""
    import tempfile

    stars = [h * 60 for h in (100, 300, 600, 1000)]
    sql = LOAD_SQL.format(
        teams=teams, volunteers=volunteers, entries=entries, s1=stars[0], s2=stars[1], s3=stars[2], s4=stars[3]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(sql)
    result = run_json("bench.probes", "sql", env.database_url, "hours", handle.name, timeout=1200)
    return {"entries": entries, **result, "per_second": round(entries / result["seconds"], 1)}


def query_params(area: seed.District, samples: int) -> dict[str, list[dict[str, Any]]]:
    month_from, month_to = "2025-03-01", "2025-03-31"
    return {
        "volunteer_total": [{"volunteer_id": area.volunteers[i % len(area.volunteers)]} for i in range(samples)],
        "team_month": [
            {"team_id": area.teams[i % len(area.teams)], "from": month_from, "to": month_to} for i in range(samples)
        ],
        "community_leaderboard": [
            {"community_id": area.communities[i % len(area.communities)]} for i in range(samples)
        ],
    }


def rpc_query(rpc: Any, name: str, params: dict[str, Any]) -> Any:
    if name == "volunteer_total":
        return rpc.hours.volunteer_total(params["volunteer_id"])
    if name == "team_month":
        return rpc.hours.leaderboard(
            {"by": "team", "team_id": params["team_id"], "from": params["from"], "to": params["to"]}
        )
    return rpc.hours.leaderboard({"by": "volunteer", "community_id": params["community_id"]})


def timed_rpc(rpc: Any, name: str, params: list[dict[str, Any]]) -> dict[str, float]:
    rpc_query(rpc, name, params[0])
    times = []
    for p in params:
        began = time.perf_counter()
        rpc_query(rpc, name, p)
        times.append(time.perf_counter() - began)
    times.sort()
    return {
        "samples": len(times),
        "p50_ms": round(times[len(times) // 2] * 1000, 2),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 2),
    }


def hours_at_scale(env: Environment, sizes: Any, report: Any, area: seed.District) -> None:
    """Load the ledger, then time each standing query through the service beside raw SQL."""
    import json
    import tempfile

    from bench.report import Figure, Ratio

    env.migrate("hours")
    conn = env.pg("registry")
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM volunteers ORDER BY id LIMIT 2000")
        area.volunteers = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT count(*) FROM volunteers")
        volunteers = cur.fetchone()[0]
    conn.close()
    loaded = load_hour_ledger(env, volunteers, len(area.teams), sizes.hour_entries)
    report.details.setdefault("district", {})["hour_ledger_load"] = loaded
    params = query_params(area, sizes.query_samples)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"queries": QUERIES, "params": params}, handle)
    raw = run_json("bench.probes", "queries", env.database_url, "hours", handle.name)
    purge_backlog(env, "hours")  # the import's registry events: not what this stage measures
    hours = env.start("hours")
    hours.wait_ready()
    try:
        with seed.cluster(env.config()) as rpc:
            served = {name: timed_rpc(rpc, name, params[name]) for name in QUERIES}
        report.memory("hours", hours.peak_rss_mib())
    finally:
        env.stop(hours)
    report.details["district"]["queries"] = {"service": served, "raw_sql": raw}
    for name in QUERIES:
        report.add(
            Ratio(
                f"query_{name}_p99_vs_sql",
                Figure(f"{name} via RPC p99", served[name]["p99_ms"], "ms"),
                Figure("raw SQL p99", raw[name]["p99_ms"], "ms"),
                higher_is_better=False,
                note=f"p50 {served[name]['p50_ms']} ms vs {raw[name]['p50_ms']} ms; {sizes.hour_entries} entries",
            )
        )
