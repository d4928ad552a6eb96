"""Gateway reads under concurrent load beside a bare nameko HTTP entrypoint."""

from __future__ import annotations

from typing import Any

from bench import load, seed
from bench.environment import Environment
from services import SERVICES

GATEWAY_ENV = {"YILIN_RATE_LIMIT_PER_MINUTE": str(10**9), "YILIN_JWT_SECRET": seed.BENCH_SECRET}


def read_paths(district: seed.District, extra: dict[str, list[str]]) -> dict[str, list[str]]:
    """The reads, each over a spread of ids (a cache of one row would flatter them)."""
    paths = {"volunteer_by_id": [f"/api/v1/volunteers/{v}" for v in district.volunteers[:100]]}
    paths.update(extra)
    return paths


def measure(
    env: Environment, sizes: Any, district: seed.District, extra_paths: dict[str, list[str]], processes: dict[str, Any]
) -> dict[str, Any]:
    """Load the bare entrypoint, then each read, then the mix of all reads."""
    token = seed.token(env.config())
    bare = env.start("bare", module="bench.baseline_services", args=("bare",))
    bare_url = f"http://127.0.0.1:{bare.http_port}"
    bare.wait_ready(probe=lambda: answers(bare_url + "/bare"))
    results: dict[str, Any] = {"bare": load.run(bare_url, ["/bare"], sizes.http_seconds)}
    results["bare"]["peak_rss_mib"] = bare.peak_rss_mib()
    env.stop(bare)
    gateway_url = f"http://127.0.0.1:{processes['gateway'].http_port}"
    paths = read_paths(district, extra_paths)
    for name, group in paths.items():
        results[name] = load.run(gateway_url, group, sizes.http_seconds, token=token)
    mixed = [g[i] for i in range(max(len(g) for g in paths.values())) for g in paths.values() if i < len(g)]
    results["mixed_reads"] = load.run(gateway_url, mixed, sizes.http_seconds, token=token)
    results["memory"] = {name: p.peak_rss_mib() for name, p in processes.items()}
    return results


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 (a baseline service's readiness)."""
    import requests

    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def start_stack(env: Environment, names: tuple[str, ...], gateway_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Migrate and start each named service (those present on this branch) and the gateway
    (with ``gateway_env``, else the read stage's: no rate limit)."""
    present = [n for n in names if n in SERVICES]
    env.migrate(*present)  # the gateway too: its outbox sweep fails every 2 s on tables never created
    processes = {}
    for name in present:
        processes[name] = env.start(name, extra_env=(gateway_env or GATEWAY_ENV) if name == "gateway" else None)
    for process in processes.values():
        process.wait_ready()
    return processes
