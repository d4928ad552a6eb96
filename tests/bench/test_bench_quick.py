"""``python -m bench --quick`` runs end to end and records every ratio the issue names,
each with both of its figures, so the harness cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "pipeline_vs_noop",
    "pipeline_vs_commit",
    "gateway_vs_bare",
    "import_vs_copy",
    "replicas_2_vs_1",
    "signup_vs_bare",
    # the growth stage, at toy sizes (10,000 → 40,000 entries)
    "rate_10m_vs_40m",
    "cpu_40m_vs_10m",
    "query_volunteer_total_p99_40m_vs_10m",
    "query_team_month_p99_40m_vs_10m",
    "query_community_leaderboard_p99_40m_vs_10m",
)
# Stages the quick run leaves out, and what it says instead of a figure.
SKIPPED = {"pipeline_cluster_vs_single": "skipped in --quick"}


@pytest.mark.slow
def test_quick_bench_writes_every_ratio_with_both_figures(tmp_path: Path) -> None:
    latest = tmp_path / "latest.json"
    before = 0.0
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "YILIN_BENCH_RESULTS": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert latest.stat().st_mtime > before
    # one results file per run (and its chart), not latest.json beside a copy of it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "latest.png"]
    data = json.loads(latest.read_text())
    assert data["mode"] == "quick" and not data["errors"]
    for name in REQUIRED:
        ratio = data["ratios"][name]
        assert ratio["figure"]["value"] > 0 and ratio["baseline"]["value"] > 0, (name, ratio)
        assert abs(ratio["value"] - ratio["figure"]["value"] / ratio["baseline"]["value"]) < 0.01, (name, ratio)
        assert ratio["target"] is not None and isinstance(ratio["met"], bool)
        assert name in result.stdout  # printed in the table too
    assert data["skipped"] == SKIPPED and not set(SKIPPED) & set(data["ratios"])
    for name, reason in SKIPPED.items():
        assert any(line.split()[:1] == [name] and reason in line for line in result.stdout.splitlines())
    _check_signups(data)
    assert set(data["memory_peak_rss_mib"]) >= {"hours", "registry", "gateway", "activities"}
    assert all(mib > 0 for mib in data["memory_peak_rss_mib"].values())
    assert (tmp_path / "latest.png").stat().st_size > 0
    _check_scaleout(data, result.stdout)
    growth = data["details"]["growth"]
    assert growth["entries_after"] == growth["entries_to"] == 4 * growth["entries_from"]  # grown in place
    assert growth["disk"]["free_gib"] >= growth["disk"]["needed_gib"]


def _check_signups(data: dict[str, Any]) -> None:
    """Every volunteer signed up through the gateway as itself, none was refused, and the
    activities hold exactly the sign-ups the gateway answered."""
    rush = data["details"]["signups"]["sign_ups"]
    assert rush["callers"] >= 20 and rush["exhausted"] == 0 and rush["errors"] == 0, rush
    assert rush["stored"]["confirmed"] + rush["stored"]["waiting"] == rush["answered_ok"], rush
    # two volunteers start at each one-place activity: places fill and waiting lists grow
    assert rush["stored"]["confirmed"] > 0 and rush["stored"]["waiting"] > 0, rush


def _check_scaleout(data: dict[str, Any], stdout: str) -> None:
    """Both scale-out runs say under which CPU cap they ran (or why none), how much CPU
    each replica used and how the two replicas shared the events."""
    scaleout = data["details"]["scaleout"]
    cap = scaleout["replica_cpu_limit"]
    assert data["settings"]["replica_cpu_limit"] == cap
    if cap is None:
        assert scaleout["uncapped_reason"] and "UNCAPPED" in stdout
    else:
        assert f"capped at {cap:g} CPU" in stdout
    for replicas, runs in ((1, scaleout["one"]), (2, scaleout["two"])):
        assert runs
        for run in runs:
            assert len(run["replica"]) == replicas
            # (a counter is bumped just after the event's work, so one may trail the drain's end)
            assert sum(r["events_handled"] for r in run["replica"]) >= 0.95 * run["events"]
            assert all(r["cpu_seconds"] > 0 and r["events_handled"] > 0 for r in run["replica"])
            if cap is not None:
                assert all(0 < r["of_limit"] < 1.3 for r in run["replica"]), run["replica"]
