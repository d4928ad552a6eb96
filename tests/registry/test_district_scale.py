"""`yilin demo --scale district` at a toy size: the same code path as the full load
(bulk RPCs, progress bars), the registry's counts matching the figures, and a second
run storing nothing new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from services.district_scale import DISTRICT, place_rows
from tests.harness import ROOT, TEST_IDENTITY_SECRET

DIVIDE = 200


def run_scale(amqp_uri: str) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "demo", "--scale", "district", "--divide", str(DIVIDE)],
        cwd=ROOT,
        env=dict(
            os.environ, YILIN_AMQP_URI=amqp_uri, YILIN_ENV="development", YILIN_IDENTITY_SECRET=TEST_IDENTITY_SECRET
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_the_full_scale_is_the_districts() -> None:
    assert DISTRICT.targets() == {
        "teams": 459,
        "professional_teams": 66,
        "volunteers": 173_000,
        "certified_social_workers": 2_021,
        "partners": 3_000,
        "cadres": 4_046,
        "cadres_on_grids": 4_046,
    }
    rows, communities, grids = place_rows(DISTRICT)
    assert len({r["code"] for r in rows}) == len(rows) and len(grids) == len(communities) * 8


def test_a_toy_district_loads_with_matching_counts_and_reloads_as_nothing_new(stack: Any, amqp_uri: str) -> None:
    s = stack("registry")
    code, summary, stderr = run_scale(amqp_uri)
    assert code == 0, stderr[-3000:]
    toy = DISTRICT.divided(DIVIDE)
    assert all(summary["matches"].values()) and summary["targets"] == toy.targets()
    assert summary["volunteers"] == {"created": toy.volunteers, "duplicates": 0}
    assert "volunteers" in stderr and "cadres" in stderr  # the progress bars
    code, again, _ = run_scale(amqp_uri)
    assert code == 0
    assert all(
        step["created"] == 0
        for name, step in again.items()
        if name in ("places", "organisations", "teams", "cadres", "volunteers")
    )
    assert again["counts"] == summary["counts"]
    with s.rpc("registry") as registry:
        assert registry.counts()["cadres_on_grids"] == toy.cadres
