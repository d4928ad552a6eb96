"""Where the registry process spends its CPU on the volunteer import, publishing
included: ``python -m bench.profile_registry [ROWS] [--py-spy]``.

``bench.profile_import`` leaves the broker out; here the import runs as ``yilin import``
runs it, through the RPC of one running registry process whose outbox relay publishes
every ``volunteer.registered`` with confirms. Prints that process's CPU per 1,000 rows
(utime + stime from ``/proc``, steadier than wall time on a busy machine) and, with
``--py-spy``, the share of its samples in each part: the import itself, the outbox
rows, audit row and commit, publishing after the commit, the sent-mark, the rest (the
RPC's own handling, the hub)."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import seed
from bench.district import IMPORT_BATCH
from bench.environment import Environment
from bench.gateway import start_stack
from services.registry.importing import send_batches

# The frame that places a sample in a part, first match wins (py-spy's raw format).
PARTS = (
    ("import_volunteers (services/registry/volunteers.py", "the import (validate, encrypt, COPY, envelopes)"),
    ("DatabaseAccess._commit", "outbox rows, audit row, commit"),
    ("OutboxRelay._publish_loop", "publishing after the commit"),
    ("OutboxRelay._mark_loop", "the sent-mark"),
)


def shares(raw: Path) -> Counter[str]:
    """Samples per part of a py-spy ``--format raw`` file."""
    parts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        part = next((name for frame, name in PARTS if frame in stack), "the rest (RPC handling, hub)")
        parts[part] += int(count)
    return parts


def main() -> None:
    rows = int(next((a for a in sys.argv[1:] if a.isdigit()), "20000"))
    spy = "--py-spy" in sys.argv
    with Environment.create() as env:
        registry = start_stack(env, ("registry",))["registry"]
        with seed.cluster(env.config()) as rpc:
            area = seed.places(rpc, 2, 5)
            warm = seed.volunteer_rows(random.randrange(10**6, 10**12), IMPORT_BATCH, area.communities)
            list(send_batches(rpc.registry, [warm]))  # first-call costs (connections, caches) left out
            base = random.randrange(10**6, 10**12)
            batches = [
                seed.volunteer_rows(base + start, min(IMPORT_BATCH, rows - start), area.communities)
                for start in range(0, rows, IMPORT_BATCH)
            ]
            raw = Path(tempfile.mkstemp(suffix=".txt")[1])
            profiler = None
            if spy:
                command = ["py-spy", "record", "-r", "200", "-f", "raw", "-o", str(raw), "--pid", str(registry.pid)]
                profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)  # py-spy attaches
            cpu, began = registry.cpu_seconds(), time.perf_counter()
            created = sum(result["created"] for _, result in send_batches(rpc.registry, batches))
            wall, used = time.perf_counter() - began, registry.cpu_seconds() - cpu
            if profiler is not None:
                profiler.send_signal(2)  # SIGINT: py-spy writes its file and exits
                profiler.wait()
    print(
        f"{created} volunteers through one registry process in {wall:.1f} s ({created / wall:.0f} rows/s); "
        f"its CPU {used * 1e6 / max(created, 1):.1f} ms per 1,000 rows"
    )
    if spy:
        parts = shares(raw)
        total = sum(parts.values()) or 1
        for name, samples in parts.most_common():
            print(f"  {100 * samples / total:5.1f}%  {name}")
        print(f"  (py-spy samples in {raw})")


if __name__ == "__main__":
    main()
