"""The registry through the gateway over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from services.registry.id_numbers import id_check_digit
from tests.harness import if_match
from tests.problems import problem, problem_fields
from yilin.events import CloudEventSchema


def id_number(serial: int) -> str:
    first17 = f"51012419900101{serial:03d}"
    return first17 + id_check_digit(first17)


def seed_places(http: Any, url: str) -> dict[str, str]:
    ids = {}
    for code, level, parent in [
        ("PD", "district", None),
        ("PD-01", "street", "PD"),
        ("PD-01-01", "community", "PD-01"),
    ]:
        body = {"code": code, "name": code, "level": level, "parent_id": ids.get(parent)}
        r = http.post(f"{url}/api/v1/places", json=body)
        assert r.status_code == 201, r.text
        ids[code] = r.json()["id"]
    return ids


def test_register_volunteer_publishes_event_to_plain_amqp(stack: Any, tap: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    events = tap("registry")
    places = seed_places(http, s.url)
    r = http.post(
        f"{s.url}/api/v1/volunteers",
        json={
            "name": "王芳",
            "id_number": id_number(1),
            "phone": "13812345678",
            "community_id": places["PD-01-01"],
            "skills": ["first_aid", "elder_care"],
        },
    )
    assert r.status_code == 201, r.text
    volunteer = r.json()
    assert volunteer["id_number"] == id_number(1)[:4] + "*" * 10 + id_number(1)[-4:]
    assert volunteer["phone"] == "138****5678"

    [envelope] = events.wait_for("volunteer.registered")
    assert CloudEventSchema().validate(envelope) == {}
    assert envelope["source"] == "urn:yilin:service:registry" and envelope["dataversion"] == 1
    assert envelope["data"]["volunteer_id"] == volunteer["id"]
    assert envelope["data"]["skills"] == ["elder_care", "first_aid"]
    raw = str(events.messages)
    assert "王芳" not in raw and "13812345678" not in raw and id_number(1) not in raw


def test_bad_input_names_the_field_and_writes_nothing(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    places = seed_places(http, s.url)
    community = places["PD-01-01"]
    good = {"name": "李雷", "id_number": id_number(2), "community_id": community}

    cases = [
        ({**good, "nickname": "x"}, 422, "nickname"),
        ({**good, "skills": "first_aid"}, 422, "skills"),
        ({k: v for k, v in good.items() if k != "name"}, 422, "name"),
        ({**good, "community_id": "not-a-uuid"}, 422, "community_id"),
        ({**good, "id_number": "123"}, 422, "id_number"),
        ({**good, "phone": "555"}, 422, "phone"),
    ]
    for body, status, field in cases:
        r = http.post(f"{s.url}/api/v1/volunteers", json=body)
        assert r.status_code == status, (body, r.text)
        assert field in problem_fields(r), r.text

    r = http.post(f"{s.url}/api/v1/volunteers", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "body" in problem_fields(r)
    r = http.post(f"{s.url}/api/v1/volunteers", data=b"x" * (1024 * 1024 + 10))
    assert r.status_code == 413
    r = http.get(f"{s.url}/api/v1/volunteers/12345")
    assert r.status_code == 422 and "volunteer_id" in problem_fields(r)
    r = http.get(f"{s.url}/api/v1/volunteers/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    r = http.post(f"{s.url}/api/v1/volunteers", json={**good, "community_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 404 and "community_id" in problem_fields(r)
    assert http.get(f"{s.url}/api/v1/volunteers").json()["items"] == []

    assert http.post(f"{s.url}/api/v1/volunteers", json=good).status_code == 201
    r = http.post(f"{s.url}/api/v1/volunteers", json={**good, "name": "另一人"})
    assert r.status_code == 409 and "id_number" in problem_fields(r)
    assert len(http.get(f"{s.url}/api/v1/volunteers").json()["items"]) == 1


def test_a_volunteer_reads_back_as_registered_with_children_and_teams(stack: Any, http: Any) -> None:
    """The read is one statement aggregating skills, certifications and teams as JSON
    (json_agg on PostgreSQL, json_group_array on SQLite): the same view as the write's."""
    s = stack("registry", "gateway")
    places = seed_places(http, s.url)
    r = http.post(
        f"{s.url}/api/v1/organisations", json={"code": "VOL", "name": "VOL", "kind": "volunteer_organisation"}
    )
    team = http.post(
        f"{s.url}/api/v1/teams",
        json={"code": "T", "name": "T", "organisation_id": r.json()["id"], "community_id": places["PD-01-01"]},
    ).json()
    r = http.post(
        f"{s.url}/api/v1/volunteers",
        json={
            "name": "李雷",
            "id_number": id_number(2),
            "community_id": places["PD-01-01"],
            "skills": ["plumbing", "elder_care", "first_aid"],
            "certifications": [
                {"kind": "first_aid", "number": "FA-1", "issued_on": "2024-03-05"},
                {"kind": "social_worker"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    written = r.json()
    assert written["skills"] == ["elder_care", "first_aid", "plumbing"] and written["team_ids"] == []
    assert sorted(written["certifications"], key=lambda c: c["kind"]) == [
        {"kind": "first_aid", "number": "FA-1", "issued_on": "2024-03-05"},
        {"kind": "social_worker", "number": None, "issued_on": None},
    ]
    assert http.get(f"{s.url}/api/v1/volunteers/{written['id']}").json() == written
    assert (
        http.post(f"{s.url}/api/v1/teams/{team['id']}/members", json={"volunteer_id": written["id"]}).status_code == 201
    )
    read = http.get(f"{s.url}/api/v1/volunteers/{written['id']}").json()
    assert read == {**written, "team_ids": [team["id"]]}
    assert http.get(f"{s.url}/api/v1/volunteers").json()["items"] == [read]


def test_a_read_nobody_answers_is_503_with_retry_after_at_once(stack: Any, http: Any) -> None:
    """Reads go without publisher confirms (yilin.rpc), so a missing service cannot be
    reported by the broker as for a write; the gateway sees its queue has no consumer
    (services.gateway.backends) and answers 503 at once instead of waiting out the timeout."""
    import time

    s = stack("gateway", RPC_READ_TIMEOUT=30)  # no tickets service behind it
    began = time.monotonic()
    r = http.get(f"{s.url}/api/v1/tickets/00000000-0000-0000-0000-000000000001")
    assert r.status_code == 503 and problem(r)["type"].endswith("/unavailable"), r.text
    assert int(r.headers["Retry-After"]) > 0
    assert time.monotonic() - began < 30


def test_teams_members_units_and_filters(stack: Any, tap: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    events = tap("registry")
    places = seed_places(http, s.url)
    community = places["PD-01-01"]
    orgs = {}
    for code, kind in [("SEC", "government_sector"), ("AGY", "social_work_agency"), ("VOL", "volunteer_organisation")]:
        r = http.post(f"{s.url}/api/v1/organisations", json={"code": code, "name": code, "kind": kind})
        assert r.status_code == 201, r.text
        orgs[code] = r.json()["id"]
    r = http.post(
        f"{s.url}/api/v1/teams",
        json={
            "code": "SUN",
            "name": "阳光关爱志愿服务队",
            "organisation_id": orgs["VOL"],
            "community_id": community,
            "skills": ["plumbing", "elder_care"],
        },
    )
    assert r.status_code == 201, r.text
    team = r.json()
    volunteers = []
    for i, skill in enumerate(["plumbing", "first_aid", "plumbing"]):
        r = http.post(
            f"{s.url}/api/v1/volunteers",
            json={"name": f"v{i}", "id_number": id_number(10 + i), "community_id": community, "skills": [skill]},
        )
        volunteers.append(r.json()["id"])
    for vid in volunteers[:2]:
        r = http.post(f"{s.url}/api/v1/teams/{team['id']}/members", json={"volunteer_id": vid})
        assert r.status_code == 201, r.text
    assert (
        http.post(f"{s.url}/api/v1/teams/{team['id']}/members", json={"volunteer_id": volunteers[0]}).status_code == 409
    )

    by_skill = http.get(f"{s.url}/api/v1/volunteers", params={"skill": "plumbing"}).json()["items"]
    assert sorted(v["id"] for v in by_skill) == sorted([volunteers[0], volunteers[2]])
    by_team = http.get(f"{s.url}/api/v1/volunteers", params={"team_id": team["id"]}).json()["items"]
    assert sorted(v["id"] for v in by_team) == sorted(volunteers[:2])
    page = http.get(f"{s.url}/api/v1/volunteers", params={"limit": 2}).json()
    rest = http.get(f"{s.url}/api/v1/volunteers", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert http.get(f"{s.url}/api/v1/volunteers", params={"limit": 0}).status_code == 422

    r = http.post(
        f"{s.url}/api/v1/units",
        json={
            "name": "1+1+1+N",
            "community_id": community,
            "sector_id": orgs["SEC"],
            "agency_id": orgs["AGY"],
            "volunteer_organisation_id": orgs["VOL"],
            "volunteer_ids": volunteers,
        },
    )
    assert r.status_code == 201, r.text
    r = http.post(
        f"{s.url}/api/v1/units",
        json={
            "name": "wrong",
            "community_id": community,
            "sector_id": orgs["AGY"],
            "agency_id": orgs["AGY"],
            "volunteer_organisation_id": orgs["VOL"],
            "volunteer_ids": volunteers,
        },
    )
    assert r.status_code == 422 and "sector_id" in problem_fields(r)

    url = f"{s.url}/api/v1/volunteers/{volunteers[1]}"
    r = http.patch(url, json={"status": "suspended"}, headers=if_match(http, url))
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = http.delete(f"{s.url}/api/v1/teams/{team['id']}/members/{volunteers[1]}")
    assert r.status_code == 204
    for event_type in (
        "team.created",
        "team.member_joined",
        "unit.formed",
        "volunteer.updated",
        "volunteer.deactivated",
        "team.member_left",
    ):
        events.wait_for(event_type)
    assert len(events.of_type("team.member_joined")) == 2


def test_openapi_and_health(stack: Any, http: Any) -> None:
    from openapi_spec_validator import validate

    from services import SERVICES

    s = stack(*SERVICES)  # /health is 200 only when every service answers
    spec = http.get(f"{s.url}/openapi.json").json()
    validate(spec)
    assert "/api/v1/volunteers/{volunteer_id}" in spec["paths"]
    health = http.get(f"{s.url}/health")
    assert health.status_code == 200 and set(health.json()["services"].values()) == {"ok"}
