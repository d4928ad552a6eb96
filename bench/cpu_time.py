"""CPU time of the processes around a measured window, read from ``/proc``: a service
process, the broker node and the database backends a run opened, so a figure can be
told apart from the box it ran on."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

TICKS = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int, reaped_children: bool = False) -> float | None:
    """User + system CPU seconds of one process (all its threads), plus those of the
    children it has waited for when asked; None when it is gone."""
    try:
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def pids_named(command: str) -> list[int]:
    """Every process whose command name (``/proc/<pid>/comm``) is ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def database_backends(env: Any) -> list[int]:
    """The PostgreSQL backends connected to the run's own database (other users of the
    server are not counted), without the one asking."""
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cur.fetchall()]
    conn.close()
    return pids


class CpuWindow:
    """CPU seconds that groups of processes used between :meth:`start` and :meth:`stop`.
    Each group is a callable listing its pids; a pid that appears during the window
    (a backend opened by the first event) counts from zero, one that exits during it is
    lost (backends live as long as the pools that opened them)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}
        self._own_before = 0.0
        self._began = 0.0

    def _sample(self) -> dict[str, dict[int, float]]:
        sample = {}
        for name, pids in self.groups.items():
            seconds = {pid: process_seconds(pid) for pid in pids()}
            sample[name] = {pid: s for pid, s in seconds.items() if s is not None}
        return sample

    def start(self) -> None:
        self._before = self._sample()
        self._own_before = time.process_time()
        self._began = time.perf_counter()

    def stop(self) -> dict[str, float]:
        """Seconds used by each group, plus ``bench`` (this process) and ``wall``."""
        after = self._sample()
        used = {
            name: round(sum(s - self._before[name].get(pid, 0.0) for pid, s in pids.items()), 3)
            for name, pids in after.items()
        }
        used["bench"] = round(time.process_time() - self._own_before, 3)
        used["wall"] = round(time.perf_counter() - self._began, 3)
        return used
