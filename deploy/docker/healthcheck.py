#!/usr/bin/env python3
"""Container health check: GET a path on this process's metrics port.

Usage: yilin-healthcheck [PATH]   (default /livez)

/livez asks only whether the process runs; /readyz also whether it reaches its own
broker and database (never another service).

The port is YILIN_METRICS_PORT when set, otherwise the contract's default for
the service named on the container's command line (`yilin serve NAME`), so the
one image checks whichever service it runs. Standard library only: the runtime
image has no curl.
"""

import os
import sys
import urllib.request

# docs/runtime-contract.md, "Processes".
DEFAULT_METRICS_PORTS = {
    "gateway": 9100,
    "registry": 9101,
    "tickets": 9102,
    "hours": 9103,
    "fund": 9104,
    "activities": 9105,
}


def served_service(cmdline):
    """The SERVICE of a `... serve SERVICE` command line, or None."""
    for i, arg in enumerate(cmdline[:-1]):
        if arg == "serve":
            return cmdline[i + 1]
    return None


def container_cmdline():
    # PID 1 is tini; its arguments are the command it runs.
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def metrics_port(environ, cmdline):
    value = environ.get("YILIN_METRICS_PORT")
    if value not in (None, ""):
        return int(value)
    return DEFAULT_METRICS_PORTS.get(served_service(cmdline) or "", 0)


def main(argv):
    path = argv[1] if len(argv) > 1 else "/livez"
    port = metrics_port(os.environ, container_cmdline())
    if port == 0:
        # Metrics server switched off (or not a service process): nothing to
        # probe, and an unhealthy mark would only hide the real state.
        return 0
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=float(os.environ.get("YILIN_HEALTHCHECK_TIMEOUT", "2"))) as resp:
            return 0 if resp.status == 200 else 1
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; say why for `docker inspect`
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
