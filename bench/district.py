"""District-scale data: the bulk import beside ``COPY`` of the same rows, the bulk of
the hour ledger written straight into its tables, and the standing queries beside the
same SQL run raw."""

from __future__ import annotations

import time
from typing import Any, Callable

from bench import seed
from bench.environment import Environment, run_json

IMPORT_BATCH = 1000  # what `yilin import` sends per RPC call


def import_volunteers(rpc: Any, district: seed.District, count: int) -> dict[str, Any]:
    """Volunteers through the registry's import RPC, batch by batch, as `yilin import` does."""
    created = 0
    started = time.perf_counter()
    for start in range(0, count, IMPORT_BATCH):
        rows = seed.volunteer_rows(start + 1, min(IMPORT_BATCH, count - start), district.communities)
        result = rpc.registry.import_volunteers(rows)
        if result["rejected"]:
            raise RuntimeError(f"import rejected rows: {result['rejected'][:3]}")
        created += result["created"]
    elapsed = time.perf_counter() - started
    return {"rows": created, "seconds": round(elapsed, 2), "per_second": round(created / elapsed, 1)}


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
    return {"samples": samples, "p50_ms": round(times[len(times) // 2] * 1000, 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 2)}
