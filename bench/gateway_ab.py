"""The gateway's reads over the services' internal HTTP servers and over RPC, loaded in
turns on one stack, so both meet the same moments of a shared machine: two gateways on
the same services, one with ``YILIN_<SERVICE>_READ_URL`` set and one without.

    python -m bench.gateway_ab [--rounds 2] [--seconds 3] [--before DIR]

With ``--before DIR`` (another checkout with its own ``.venv``) it compares two trees
instead: a stack from each (the services and a gateway reading over internal HTTP), on
the same database, loaded in turns ("before" is DIR's, "after" this one's).

Prints, per read and path, the requests per second of each round and the CPU each
process spent per request (ms), and writes them as JSON to ``--out``."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()  # the bench process talks RPC the way the services do

import argparse
import json
from pathlib import Path
from typing import Any

from bench import seed
from bench.environment import Environment, free_port
from bench.gateway import GATEWAY_ENV, _loaded, read_paths
from bench.stages import gw_extra_paths

SERVICES = ("registry", "tickets", "hours")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", default="/tmp/yilin-gateway-ab.json")
    parser.add_argument("--before", type=Path, help="another checkout: compare its tree with this one")
    options = parser.parse_args()
    with Environment.create() as env:
        env.migrate(*SERVICES, "gateway")
        if options.before is None:
            modes = ("http", "rpc")
            services = _services(env, None)
            stacks = {"http": services, "rpc": services}
            urls = _urls(services)
            gateways = {
                "http": env.start("gateway", extra_env={**GATEWAY_ENV, **urls}),
                "rpc": env.start("gateway", extra_env=GATEWAY_ENV),
            }
        else:
            modes = ("before", "after")
            stacks = {"before": _services(env, options.before.resolve()), "after": _services(env, None)}
            gateways = {
                mode: env.start("gateway", extra_env={**GATEWAY_ENV, **_urls(stacks[mode])}, root=root)
                for mode, root in (("before", options.before.resolve()), ("after", None))
            }
        for process in [*stacks[modes[0]].values(), *stacks[modes[1]].values(), *gateways.values()]:
            process.wait_ready()
        with seed.cluster(env.config()) as rpc:
            district = seed.places(rpc, 2, 5)
            seed.teams(rpc, district, 3)
            rpc.registry.import_volunteers(seed.volunteer_rows(1, 300, district.communities))
            district.volunteers = [v["id"] for v in rpc.registry.list_volunteers({"limit": 200})["items"]]
            extra = gw_extra_paths(rpc, district)
        token = seed.token(env.config())
        assert token is not None
        paths = read_paths(district, extra)
        paths["mix"] = [g[i] for i in range(max(len(g) for g in paths.values())) for g in paths.values() if i < len(g)]
        results: dict[str, dict[str, list[dict[str, Any]]]] = {name: {m: [] for m in modes} for name in paths}
        for round_ in range(options.rounds):
            for name, group in paths.items():
                for mode in modes if round_ % 2 == 0 else modes[::-1]:
                    url = f"http://127.0.0.1:{gateways[mode].http_port}"
                    processes = {**stacks[mode], "gateway": gateways[mode]}
                    results[name][mode].append(_loaded(processes, url, group, options.seconds, token))
    for name, by_mode in results.items():
        for mode, runs in by_mode.items():
            rates = ", ".join(f"{r['per_second']:.0f}" for r in runs)
            cpu = [r["cpu_ms_per_request"] for r in runs]
            gateway = ", ".join(f"{c['gateway']:.2f}" for c in cpu)
            service = ", ".join(f"{sum(v for k, v in c.items() if k != 'gateway'):.2f}" for c in cpu)
            errors = sum(r["errors"] for r in runs)
            print(
                f"{name:18} {mode:6} req/s {rates:18} CPU ms/req gateway {gateway:14} services {service:14} errors {errors}"
            )
    with open(options.out, "w") as out:
        json.dump(results, out, indent=1)


def _services(env: Environment, root: Path | None) -> dict[str, Any]:
    """The read services, each with its internal read server, from ``root``'s tree."""
    return {
        name: env.start(name, extra_env={"YILIN_INTERNAL_HTTP_ADDRESS": f"127.0.0.1:{free_port()}"}, root=root)
        for name in SERVICES
    }


def _urls(services: dict[str, Any]) -> dict[str, str]:
    """The gateway's settings reading from ``services``' internal servers."""
    return {
        f"YILIN_{name.upper()}_READ_URL": "http://" + process.extra_env["YILIN_INTERNAL_HTTP_ADDRESS"]
        for name, process in services.items()
    }


if __name__ == "__main__":
    main()
