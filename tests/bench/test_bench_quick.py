"""``python -m bench --quick`` runs end to end and records every ratio the issue names,
each with both of its figures, so the harness cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("pipeline_vs_noop", "pipeline_vs_commit", "gateway_vs_bare", "import_vs_copy", "replicas_2_vs_1")


@pytest.mark.slow
def test_quick_bench_writes_every_ratio_with_both_figures(tmp_path: Path) -> None:
    latest = tmp_path / "latest.json"
    before = 0.0
    result = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "YILIN_BENCH_RESULTS": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert latest.stat().st_mtime > before
    data = json.loads(latest.read_text())
    assert data["mode"] == "quick" and not data["errors"]
    for name in REQUIRED:
        ratio = data["ratios"][name]
        assert ratio["figure"]["value"] > 0 and ratio["baseline"]["value"] > 0, (name, ratio)
        assert abs(ratio["value"] - ratio["figure"]["value"] / ratio["baseline"]["value"]) < 0.01, (name, ratio)
        assert ratio["target"] is not None and isinstance(ratio["met"], bool)
        assert name in result.stdout  # printed in the table too
    assert set(data["memory_peak_rss_mib"]) >= {"hours", "registry", "gateway"}
    assert all(mib > 0 for mib in data["memory_peak_rss_mib"].values())
    assert (tmp_path / "latest.png").stat().st_size > 0
