"""The scale-out stage's CPU cap: a process tree in a cgroup gets no more than its
quota, its children are counted, the group goes away afterwards, and a machine without
a writable cpu controller is told apart (the stage then runs uncapped and says so)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench import cpu_quota
from bench.cpu_quota import CpuQuota

# The parent only waits; the child it starts does the work, so the group's usage can
# only come from a child.
BUSY_CHILD = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c', "
    "'import time\\nt = time.monotonic()\\nwhile time.monotonic() - t < 1.5: pass'])"
)


def test_a_directory_that_is_no_cpu_controller_is_named_as_the_reason(tmp_path: Path) -> None:
    assert "no cgroup v1 cpu controller" in (cpu_quota.unavailable(tmp_path / "absent") or "")
    (tmp_path / "cpu.cfs_quota_us").write_text("-1")  # looks like one, but the kernel makes no group files
    reason = cpu_quota.unavailable(tmp_path)
    assert reason and "cgroup.procs" in reason
    assert [p.name for p in tmp_path.iterdir()] == ["cpu.cfs_quota_us"]  # the probe group is gone


def test_a_capped_process_tree_gets_its_quota_and_its_children_are_counted() -> None:
    reason = cpu_quota.unavailable()
    if reason is not None:  # this machine cannot cap; the bench reports that and runs uncapped
        assert isinstance(reason, str) and reason
        return
    quota = CpuQuota("test", 0.2)
    try:
        quota.apply()
        began = time.monotonic()
        process = subprocess.run(quota.wrap([sys.executable, "-c", BUSY_CHILD]), timeout=60)
        wall = time.monotonic() - began
        assert process.returncode == 0
        used = quota.usage_seconds()
        assert used is not None and 0.05 < used <= 0.2 * wall + 0.1, (used, wall)
        throttling = quota.throttling()
        assert throttling["nr_throttled"] > 0 and throttling["nr_periods"] >= throttling["nr_throttled"]
    finally:
        quota.remove()
    assert not quota.cpu_group.exists()
    assert quota.acct_group is None or not quota.acct_group.exists()


def test_groups_of_a_killed_run_are_removed_and_those_of_a_live_run_kept(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = tmp_path / f"{cpu_quota.PREFIX}{gone.stdout.strip()}-hours-0a1b2c3d"
    live = tmp_path / f"{cpu_quota.PREFIX}{os.getpid()}-hours-4e5f6a7b"
    other = tmp_path / "someone-else"
    for group in (orphan, live, other):
        group.mkdir()
    cpu_quota.remove_orphans(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
