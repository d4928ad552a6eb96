"""Activities carry their micro-grid (微网格), checked with the registry that owns the
places, and the community report rolls up by grid."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from services.district import LOCAL_TIME
from tests.security.credentials import bearer


def _at(day: Any, hour: int) -> str:
    return datetime.combine(day, time(hour), LOCAL_TIME).isoformat()


def test_an_activity_in_a_grid_is_reported_by_grid(stack: Any, http: Any) -> None:
    s = stack("registry", "activities", "gateway")
    with s.rpc("registry") as registry:
        district = registry.create_place({"code": "PD", "name": "郫都区", "level": "district"})
        street = registry.create_place(
            {"code": "DY", "name": "德源街道", "level": "street", "parent_id": district["id"]}
        )
        community = registry.create_place(
            {"code": "HQ", "name": "红旗社区", "level": "community", "parent_id": street["id"]}
        )["id"]
        other = registry.create_place(
            {"code": "JY", "name": "金仪社区", "level": "community", "parent_id": street["id"]}
        )
        grid = registry.create_place({"code": "HQ-G1", "name": "一网格", "level": "grid", "parent_id": community})["id"]
        foreign = registry.create_place(
            {"code": "JY-G1", "name": "金仪一网格", "level": "grid", "parent_id": other["id"]}
        )
    api = f"{s.url}/api/v1"
    organisation = "11111111-1111-4111-8111-111111111111"
    organiser = bearer("org_admin", subject="organiser-li", organisation_id=organisation)
    day = (datetime.now(LOCAL_TIME) - timedelta(days=1)).date()

    def publish(hour: int, **extra: Any) -> Any:
        body = {
            "organisation_id": organisation,
            "title": "楼栋清洁",
            "place": "红旗社区广场",
            "community_id": community,
            "starts_at": _at(day, hour),
            "ends_at": _at(day, hour + 1),
            "capacity": 5,
            **extra,
        }
        return http.post(f"{api}/activities", headers=organiser, json=body)

    # a grid of another community, a place that is no grid, a grid that does not exist: refused, nothing stored
    for bad in (foreign["id"], community, "00000000-0000-4000-8000-000000000000"):
        r = publish(9, grid_id=bad)
        assert r.status_code in (404, 422) and "grid_id" in r.text, r.text
    assert http.get(f"{api}/activities", params={"community_id": community}).json()["items"] == []

    in_grid = publish(9, grid_id=grid)
    assert in_grid.status_code == 201 and in_grid.json()["grid_id"] == grid, in_grid.text
    no_grid = publish(11)
    assert no_grid.status_code == 201 and no_grid.json()["grid_id"] is None
    listed = http.get(f"{api}/activities", params={"grid_id": grid}).json()["items"]
    assert [a["id"] for a in listed] == [in_grid.json()["id"]]
    for activity, visits in ((in_grid, 12), (no_grid, 5)):
        r = http.post(
            f"{api}/activities/{activity.json()['id']}/close", headers=organiser, json={"beneficiary_visits": visits}
        )
        assert r.status_code == 200, r.text

    by_community = http.get(f"{api}/activities/reports/communities", params={"community_id": community}).json()["items"]
    assert [(row["community_id"], row["beneficiary_visits"]) for row in by_community] == [(community, 17)]
    assert "grid_id" not in by_community[0]
    by_grid = http.get(f"{api}/activities/reports/communities", params={"community_id": community, "by": "grid"})
    rows = {row["grid_id"]: row for row in by_grid.json()["items"]}
    assert set(rows) == {grid, None}
    assert (rows[grid]["activities"], rows[grid]["beneficiary_visits"]) == (1, 12)
    assert (rows[None]["activities"], rows[None]["beneficiary_visits"]) == (1, 5)
    r = http.get(f"{api}/activities/reports/communities", params={"by": "street"})
    assert r.status_code == 422 and "by" in r.text
