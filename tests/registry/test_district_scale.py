"""`yilin demo --scale district` at a toy size: the same code path as the full load
(bulk RPCs, progress bars), the registry's counts matching the figures, the university
alliance's activities and hours reproduced by the organisation report over HTTP, and a
second run storing nothing new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from services.district_scale import DISTRICT, place_rows
from tests.harness import ROOT

DIVIDE = 200


def run_scale(amqp_uri: str) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "demo", "--scale", "district", "--divide", str(DIVIDE)],
        cwd=ROOT,
        env=dict(os.environ, YILIN_AMQP_URI=amqp_uri, YILIN_ENV="development"),
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
    assert DISTRICT.alliance_targets() == {"alliance_activities": 19_000, "alliance_hours": 620_000}
    assert DISTRICT.alliance_universities >= 10
    rows, communities, grids = place_rows(DISTRICT)
    assert len({r["code"] for r in rows}) == len(rows) and len(grids) == len(communities) * 8


def test_a_toy_district_loads_with_matching_counts_and_reloads_as_nothing_new(
    stack: Any, amqp_uri: str, http: Any
) -> None:
    s = stack("registry", "activities", "gateway")
    code, summary, stderr = run_scale(amqp_uri)
    assert code == 0, stderr[-3000:]
    toy = DISTRICT.divided(DIVIDE)
    assert all(summary["matches"].values()) and summary["targets"] == toy.targets()
    assert summary["volunteers"] == {"created": toy.volunteers, "duplicates": 0}
    assert summary["universities"] == {"created": DISTRICT.alliance_universities, "duplicates": 0}
    assert summary["alliance_activities"] == {"created": toy.alliance_activities, "duplicates": 0}
    assert "volunteers" in stderr and "cadres" in stderr and "alliance activities" in stderr  # the progress bars

    # the alliance's published figures (divided), from the rows, over HTTP
    alliance = summary["alliance"]["organisation_ids"]
    universities = [http.get(f"{s.url}/api/v1/organisations/{o}").json() for o in alliance]
    assert {u["kind"] for u in universities} == {"university"} and len(universities) >= 10
    assert {"西南交通大学", "西华大学"} <= {u["name"] for u in universities}
    r = http.get(f"{s.url}/api/v1/activities/reports/organisations", params={"organisation_ids": ",".join(alliance)})
    assert r.status_code == 200, r.text
    figures = r.json()["indicators"]
    assert (figures["activities"], figures["attended_minutes"]) == (toy.alliance_activities, toy.alliance_hours * 60)
    assert (toy.alliance_activities, toy.alliance_hours) == (95, 3_100)  # 19,000 and 620,000 ÷ 200
    assert figures["verified_minutes"] == 0  # a past record: not in the hour ledger

    code, again, _ = run_scale(amqp_uri)
    assert code == 0
    assert all(
        step["created"] == 0
        for name, step in again.items()
        if name in ("places", "organisations", "teams", "cadres", "volunteers", "universities", "alliance_activities")
    )
    assert again["counts"] == summary["counts"]
    assert again["alliance_activities"] == {"created": 0, "duplicates": toy.alliance_activities}
    assert http.get(r.url).json()["indicators"] == figures
    with s.rpc("registry") as registry:
        assert registry.counts()["cadres_on_grids"] == toy.cadres
