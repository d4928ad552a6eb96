"""A CPU cap for one service process tree, the way a pod's ``resources.limits.cpu`` caps
a replica: a cgroup v1 ``cpu`` group with a CFS quota, and a ``cpuacct`` group beside
it that counts the CPU the tree used.

The process joins its groups before it executes the service (a shell writes its own
pid to ``cgroup.procs`` and then ``exec``s), so every thread and child process it ever
has is inside. The quota is set by :meth:`CpuQuota.apply`, once the service is ready:
start-up (imports, ~3 s of CPU) is outside every measured window and would only make the
bench slower under the cap."""

from __future__ import annotations

import os
import shlex
import time
import uuid
from pathlib import Path

# Overridable so a run (or a test) can show the uncapped fallback on a machine that has
# the controller.
CPU_ROOT = Path(os.environ.get("YILIN_BENCH_CGROUP_CPU", "/sys/fs/cgroup/cpu"))
CPUACCT_ROOT = Path(os.environ.get("YILIN_BENCH_CGROUP_CPUACCT", "/sys/fs/cgroup/cpuacct"))
PERIOD_US = 100_000  # the kernel's default CFS period, as Kubernetes uses
# The group's weight against everything else runnable on the machine (a task at nice 0
# weighs 1,024). A cluster places pods so their CPU requests fit the node; this shared box
# is oversubscribed by other work, so the weight stands in for that: while the replica
# has work it gets its quota, and the quota, not the weight, bounds what it takes.
SHARES = 10 * 1024
# Groups are named after the bench process that made them, so a later run can tell the
# groups of a killed run (its pid gone) from those of a run going on beside it.
PREFIX = "yilin-bench-"


def unavailable(root: Path | None = None) -> str | None:
    """Why no CPU quota can be set here, or None when it can: the cgroup v1 ``cpu``
    controller must be mounted at ``root`` and a child group must be creatable and
    take a quota. Never raises. Groups left by a bench run that was killed are removed
    on the way."""
    root = root or CPU_ROOT
    if not (root / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {root}"
    remove_orphans(root)
    remove_orphans(CPUACCT_ROOT)
    probe = root / f"{PREFIX}{os.getpid()}-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup under {root}: {exc.strerror or exc}"
    try:
        # the kernel fills a new group with its files; a plain directory stays empty
        if not os.access(probe / "cgroup.procs", os.W_OK):
            return f"{probe / 'cgroup.procs'} is missing or not writable"
        (probe / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (probe / "cpu.cfs_quota_us").write_text(str(PERIOD_US // 2))
    except OSError as exc:
        return f"cannot set a CPU quota under {root}: {exc.strerror or exc}"
    finally:
        _remove(probe)
    return None


class CpuQuota:
    """One process tree's cgroup: capped at ``cpus`` cores after :meth:`apply`, its CPU
    time counted until :meth:`remove`."""

    def __init__(self, name: str, cpus: float, root: Path | None = None, acct_root: Path | None = None) -> None:
        self.cpus = cpus
        tag = f"{PREFIX}{os.getpid()}-{name}-{uuid.uuid4().hex[:8]}"
        self.cpu_group = (root or CPU_ROOT) / tag
        self.cpu_group.mkdir()
        (self.cpu_group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        # With cpu and cpuacct mounted together the group already counts; otherwise a
        # twin group in the cpuacct hierarchy does (and without one, usage is None).
        self.acct_group: Path | None = None
        if (self.cpu_group / "cpuacct.usage").exists():
            self.acct_group = self.cpu_group
        else:
            acct_root = acct_root or CPUACCT_ROOT
            if (acct_root / "cpuacct.usage").exists():
                try:
                    (acct_root / tag).mkdir()
                    self.acct_group = acct_root / tag
                except OSError:
                    pass

    @property
    def quota_us(self) -> int:
        return round(self.cpus * PERIOD_US)

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` run by a shell that first moves itself into the groups."""
        groups = [self.cpu_group] + ([self.acct_group] if self.acct_group not in (None, self.cpu_group) else [])
        joins = "; ".join(f"echo $$ > {shlex.quote(str(g / 'cgroup.procs'))}" for g in groups)
        return ["/bin/sh", "-c", f'{joins}; exec "$@"', "sh", *command]

    def holds(self, pid: int) -> bool:
        """Whether the process is in the capped group (the shell's join did not fail)."""
        try:
            return str(pid) in (self.cpu_group / "cgroup.procs").read_text().split()
        except OSError:
            return False

    def apply(self) -> None:
        (self.cpu_group / "cpu.shares").write_text(str(SHARES))
        (self.cpu_group / "cpu.cfs_quota_us").write_text(str(self.quota_us))

    def usage_seconds(self) -> float | None:
        """CPU time the group's processes used since they joined (all threads and
        children), or None without a cpuacct group."""
        if self.acct_group is None:
            return None
        try:
            return int((self.acct_group / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def throttling(self) -> dict[str, int]:
        """The group's CFS counters: periods with runnable tasks, periods in which the
        quota ran out, and nanoseconds spent throttled."""
        try:
            lines = (self.cpu_group / "cpu.stat").read_text().split("\n")
        except OSError:
            return {}
        stat = dict(line.split() for line in lines if line.strip())
        return {k: int(stat[k]) for k in ("nr_periods", "nr_throttled", "throttled_time") if k in stat}

    def remove(self) -> None:
        """Remove both groups (their processes must have exited)."""
        for group in {self.cpu_group, self.acct_group} - {None}:
            _remove(group)


def remove_orphans(root: Path) -> None:
    """Remove the groups of bench runs whose process is gone (a run killed before its
    clean-up); a group still holding a process stays."""
    try:
        groups = [g for g in root.iterdir() if g.is_dir() and g.name.startswith(PREFIX)]
    except OSError:
        return
    for group in groups:
        owner = group.name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                group.rmdir()
            except OSError:
                pass


def _remove(group: Path) -> None:
    # A group is removable once its last task is reaped, which can trail the wait() by
    # a moment.
    for _ in range(50):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
