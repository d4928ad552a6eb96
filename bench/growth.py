"""How cost grows with the hour ledger: one ledger, grown in place from ``growth_from``
to ``growth_to`` entries (10 and 40 million in the full run), with the event pipeline's
rate and CPU per event and the standing queries' p99 measured at both sizes.

The ledger grows the way a district's does: in time. Each ``growth_from`` entries are
another 900 days of history for the same volunteers and teams, so a team's month holds
as many entries at 40 million as at 10 million, and a volunteer's all-time history four
times as many. Rows are made in SQL (``INSERT … SELECT FROM generate_series``) with the
secondary indexes dropped and rebuilt around the insert, like the ledger stage's load."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from typing import Any

from bench import pipeline as pipe
from bench.district import QUERIES
from bench.environment import Environment, run_json

COMMUNITIES = 240  # the district's communities and villages, for a ledger loaded from nothing
DAYS_PER_EPOCH = 900  # the days each ``growth_from`` entries span
BYTES_PER_ENTRY = 700  # an entry with its indexes and WAL (measured ~520 at 10 million), rounded up
HEADROOM_BYTES = 5 * 2**30  # left free for the database and everyone else on the machine

POPULATION_SQL = """
-- A ledger loaded from nothing (no ledger stage before this one, or another size):
-- a synthetic district, kept if the ledger stage left its own.
TRUNCATE entries, entry_transitions, volunteer_totals, team_members CASCADE;
INSERT INTO volunteers (id, number, community_id, status)
    SELECT md5('growth-v' || g)::uuid::text, 'GV' || g, md5('growth-c' || (g % {communities}))::uuid::text, 'active'
    FROM generate_series(0, {volunteers} - 1) AS g WHERE NOT EXISTS (SELECT 1 FROM volunteers);
INSERT INTO teams (id, code, organisation_id, community_id)
    SELECT md5('growth-t' || g)::uuid::text, 'GT' || g, md5('growth-o' || (g % 50))::uuid::text,
           md5('growth-c' || (g % {communities}))::uuid::text
    FROM generate_series(0, {teams} - 1) AS g WHERE NOT EXISTS (SELECT 1 FROM teams);
INSERT INTO team_members (team_id, volunteer_id)
    SELECT t.id, v.id
    FROM (SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id FROM volunteers) AS v
    JOIN (SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id FROM teams) AS t
      ON t.rn = v.rn % (SELECT count(*) FROM teams)
    ON CONFLICT DO NOTHING;
ANALYZE volunteers; ANALYZE teams; ANALYZE team_members;
"""

GROW_SQL = """
-- Entries {start} to {end} - 1 of one ledger; entry g is in epoch g / {per_epoch}, each epoch
-- another {days} days of the same volunteers' and teams' history.
SET LOCAL maintenance_work_mem = '256MB';
CREATE TEMP TABLE grow_v AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id, community_id FROM volunteers;
CREATE TEMP TABLE grow_t AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS rn, id, organisation_id FROM teams;
CREATE INDEX ON grow_v (rn); CREATE INDEX ON grow_t (rn); ANALYZE grow_v; ANALYZE grow_t;
CREATE TEMP TABLE grow_idx AS SELECT indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema() AND tablename = 'entries' AND indexname <> 'entries_pkey';
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexname FROM grow_idx LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
INSERT INTO entries (id, volunteer_id, source, source_id, organisation_id, team_id, community_id, served_on,
                     start_minute, end_minute, minutes, content, status, requested_by, decided_by, decided_at,
                     created_at)
    SELECT '00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'), v.id, 'activity',
           '10000000-0000-4000-8000-' || lpad(to_hex(g / 20), 12, '0'), t.organisation_id, t.id, v.community_id,
           date '2024-01-01' + (g / {per_epoch}) * {days} + (g * 7 % {days}), 480 + g % 300,
           480 + g % 300 + 30 + g % 150, 30 + g % 150,
           'community service', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'verified' END, 'bench',
           CASE WHEN g % 10 = 0 THEN NULL ELSE 'bench' END, CASE WHEN g % 10 = 0 THEN NULL ELSE now() END, now()
    FROM generate_series({start}, {end} - 1) AS g
    JOIN grow_v v ON v.rn = g % {volunteers}
    JOIN grow_t t ON t.rn = (g % {volunteers}) % {teams};
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexdef FROM grow_idx LOOP EXECUTE r.indexdef; END LOOP;
END $$;
"""


def disk_needed(env: Environment, entries: int) -> dict[str, Any]:
    """Free space where the database keeps its files against what ``entries`` more
    entries need; where the data directory cannot be read, the root file system's."""
    with env.pg() as conn, conn.cursor() as cur:
        try:
            cur.execute("SHOW data_directory")
            directory = cur.fetchone()[0]
        except Exception:  # noqa: BLE001 - only superusers may read it; the root file system is the fallback
            conn.rollback()
            directory = "/"
    conn.close()
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        directory, free = "/", shutil.disk_usage("/").free
    needed = entries * BYTES_PER_ENTRY + HEADROOM_BYTES
    return {"directory": directory, "free_gib": round(free / 2**30, 1), "needed_gib": round(needed / 2**30, 1)}


def ledger_gib(env: Environment) -> float:
    """The entries table with its indexes, GiB."""
    with env.pg("hours") as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size('entries')")
        size = int(cur.fetchone()[0])
    conn.close()
    return round(size / 2**30, 2)


def entry_count(env: Environment) -> int:
    with env.pg("hours") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM entries")
        count = int(cur.fetchone()[0])
    conn.close()
    return count


def run_script(env: Environment, sql: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(sql)
    return float(run_json("bench.probes", "sql", env.database_url, "hours", handle.name, timeout=1800)["seconds"])


def grow(env: Environment, start: int, end: int, per_epoch: int) -> dict[str, Any]:
    """Entries ``start`` … ``end`` - 1 into the ledger in place, then ANALYZE and a
    VACUUM (what autovacuum would do before long: index-only scans need the visibility
    map)."""
    with env.pg("hours") as conn, conn.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM volunteers), (SELECT count(*) FROM teams)")
        volunteers, teams = cur.fetchone()
    conn.close()
    sql = GROW_SQL.format(
        start=start, end=end, per_epoch=per_epoch, days=DAYS_PER_EPOCH, volunteers=volunteers, teams=teams
    )
    seconds = run_script(env, sql)
    began = time.perf_counter()
    maintain(env)
    return {
        "entries": end - start,
        "seconds": round(seconds, 1),
        "per_second": round((end - start) / seconds, 1),
        "vacuum_analyze_seconds": round(time.perf_counter() - began, 1),
    }


def maintain(env: Environment) -> None:
    """VACUUM and ANALYZE the ledger, then a CHECKPOINT: a bulk load (and the VACUUM's
    hint bits) leaves the buffer pool full of dirty pages, and a backend that needs a
    buffer writes one out itself, so without it the measurement after the growth bills
    the pipeline's backends for flushing the load's 30 million rows, not for the ledger's
    size."""
    conn = env.pg("hours")
    conn.autocommit = True  # VACUUM runs outside a transaction
    with conn.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) entries")
        cur.execute("CHECKPOINT")
    conn.close()


def query_params(env: Environment, samples: int) -> dict[str, list[dict[str, Any]]]:
    """The standing queries' parameters, drawn from the ledger's own volunteers, teams
    and communities (the same at both sizes)."""
    with env.pg("hours") as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM volunteers ORDER BY id LIMIT %s", (samples,))
        volunteers = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM teams ORDER BY id LIMIT %s", (samples,))
        teams = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT community_id FROM volunteers WHERE community_id IS NOT NULL GROUP BY community_id "
            "ORDER BY community_id LIMIT %s",
            (samples,),
        )
        communities = [r[0] for r in cur.fetchall()]
    conn.close()
    return {
        "volunteer_total": [{"volunteer_id": volunteers[i % len(volunteers)]} for i in range(samples)],
        "team_month": [
            {"team_id": teams[i % len(teams)], "from": "2025-03-01", "to": "2025-03-31"} for i in range(samples)
        ],
        "community_leaderboard": [{"community_id": communities[i % len(communities)]} for i in range(samples)],
    }


def time_queries(env: Environment, params: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"queries": QUERIES, "params": params}, handle)
    result: dict[str, dict[str, float]] = run_json("bench.probes", "queries", env.database_url, "hours", handle.name)
    return result


def plans(env: Environment, params: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of each standing query with its first parameters:
    what a ratio that moved did differently at the other size."""
    found: dict[str, list[str]] = {}
    with env.pg("hours") as conn, conn.cursor() as cur:
        for name, sql in QUERIES.items():
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params[name][0])
            found[name] = [row[0] for row in cur.fetchall()]
    conn.close()
    return found


def pipeline_at_size(env: Environment, sizes: Any, report: Any) -> dict[str, Any]:
    """The pipeline's drain over the ledger as it stands, ``growth_rounds`` times; the
    fastest round (the one least disturbed by the machine's other users) with every
    round's rate beside it. CPU per event: the hours process and its database
    backends."""
    rounds = []
    for _ in range(sizes.growth_rounds):
        result = pipe.run(
            env, sizes.growth_tickets, 0, report.memory, with_latency=False, warm_up_events=sizes.growth_warm_up
        )
        cpu = result["cpu_ms_per_event"]
        rounds.append(
            {
                "per_second": result["per_second"],
                "cpu_ms_per_event": round(cpu["hours"] + cpu["database"], 3),
                "cpu_ms_per_event_by_process": cpu,
                "events": result["events"],
            }
        )
    best = max(rounds, key=lambda r: r["per_second"])
    return {**best, "rounds_per_second": [r["per_second"] for r in rounds]}


def measure(env: Environment, sizes: Any, report: Any) -> dict[str, Any]:
    """Grow the ledger from ``growth_from`` to ``growth_to`` entries, measuring at both."""
    env.migrate("hours")
    small, large = sizes.growth_from, sizes.growth_to
    present = entry_count(env)
    disk = disk_needed(env, large - (present if present == small else 0))
    if disk["free_gib"] < disk["needed_gib"]:
        raise RuntimeError(
            f"the growth stage needs {disk['needed_gib']} GiB free for {large:,} hour entries "
            f"and {disk['directory']} has {disk['free_gib']} GiB: free some space or run a smaller size"
        )
    details: dict[str, Any] = {"disk": disk, "entries_from": small, "entries_to": large}
    if present == small:
        began = time.perf_counter()
        maintain(env)  # as after a load here: both sizes are measured vacuumed
        details["load"] = {
            "reused": "the ledger stage's entries",
            "vacuum_analyze_seconds": round(time.perf_counter() - began, 1),
        }
    else:
        with env.pg("hours") as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM volunteers")
            known = cur.fetchone()[0]
        conn.close()
        seconds = run_script(
            env,
            POPULATION_SQL.format(communities=COMMUNITIES, volunteers=sizes.volunteers, teams=sizes.teams),
        )
        details["population"] = {"seconds": round(seconds, 1), "volunteers_kept": known}
        details["load"] = grow(env, 0, small, small)
    params = query_params(env, sizes.growth_query_samples)
    details["at_from"] = {
        "ledger_gib": ledger_gib(env),
        "pipeline": pipeline_at_size(env, sizes, report),
        "queries": time_queries(env, params),
        "plans": plans(env, params),
    }
    details["grow"] = grow(env, entry_count(env), large, small)
    details["entries_after"] = entry_count(env)
    details["at_to"] = {
        "ledger_gib": ledger_gib(env),
        "pipeline": pipeline_at_size(env, sizes, report),
        "queries": time_queries(env, params),
        "plans": plans(env, params),
    }
    return details
