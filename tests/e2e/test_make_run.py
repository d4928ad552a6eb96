"""`yilin run` (what `make run` starts) as a real background process with no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from services.registry.id_numbers import id_check_digit
from tests.e2e.conftest import RunningStack, processes_with_env, stack_ports
from tests.harness import ROOT, free_port
from yilin.events import CloudEventSchema, parse_envelope


def test_run_prints_urls_and_serves_the_demo(running_stack: RunningStack) -> None:
    output = running_stack.output()
    assert f"{running_stack.url}/openapi.json" in output
    assert all(running_stack.metrics_url(name) in output for name in running_stack.metrics_ports)
    session = running_stack.session()
    assert session.get(f"{running_stack.url}/health", timeout=10).json()["status"] == "ok"
    communities = session.get(f"{running_stack.url}/api/v1/places", params={"level": "community"}).json()["items"]
    assert communities, "the demo district was loaded"


def test_run_publishes_to_a_plain_amqp_subscriber(running_stack: RunningStack, tap: Any) -> None:
    session = running_stack.session()
    community = session.get(f"{running_stack.url}/api/v1/places", params={"level": "community"}).json()["items"][0]
    events = tap("registry")
    first17 = "51012420000101999"
    r = session.post(
        f"{running_stack.url}/api/v1/volunteers",
        json={"name": "新志愿者", "id_number": first17 + id_check_digit(first17), "community_id": community["id"]},
    )
    assert r.status_code == 201, r.text
    [event] = events.wait_for("volunteer.registered")
    assert CloudEventSchema().validate(event) == {} and event["data"]["volunteer_id"] == r.json()["id"]


def test_the_demo_is_pidu_with_grids_and_a_suggestion_for_every_category(running_stack: RunningStack) -> None:
    session, api = running_stack.session(), f"{running_stack.url}/api/v1"

    def places(level: str) -> list[dict[str, Any]]:
        return session.get(f"{api}/places", params={"level": level, "limit": 100}).json()["items"]

    names = {
        level: {p["name"]: p for p in places(level)}
        for level in ("district", "street", "town", "community", "village", "grid", "compound")
    }
    assert set(names["district"]) == {"郫都区"}
    assert set(names["street"]) == {"团结街道", "郫筒街道", "德源街道"} and not names["town"]
    assert set(names["community"]) == {"学府社区", "奎星楼社区", "红旗社区", "金仪社区"}
    assert set(names["village"]) == {"东林村", "广福村"}
    assert set(names["compound"]) == {"府河阳光小区"}
    assert names["community"]["红旗社区"]["parent_id"] == names["street"]["德源街道"]["id"]
    assert len(names["grid"]) == 6
    grid = session.get(f"{api}/grids/{names['compound']['府河阳光小区']['parent_id']}").json()
    assert grid["community_id"] == names["community"]["学府社区"]["id"] and grid["cadre_ids"]
    orgs = {o["name"] for o in session.get(f"{api}/organisations", params={"limit": 100}).json()["items"]}
    assert {
        "十八匠",
        "仪家人物业",
        "成都市业业兴商业运营管理有限公司",
        "益路童行",
        "西南交通大学",
        "西华大学",
        "郫都区农产品供应链协会",
    } <= orgs
    enterprise = session.get(f"{api}/fund/enterprises").json()["items"][0]
    assert enterprise["name"] == "成都市业业兴商业运营管理有限公司"
    assert enterprise["community_id"] == names["community"]["红旗社区"]["id"]
    xuefu = names["community"]["学府社区"]["id"]
    categories = session.get(f"{api}/ticket-categories", params={"limit": 100}).json()["items"]
    for category in categories:
        answers = {
            f["code"]: (f["choices"][0] if f["type"] == "single_choice" else [f["choices"][0]])
            for f in category["fields"]
            if f["required"]
        }
        ticket = session.post(
            f"{api}/tickets",
            json={
                "category_code": category["code"],
                "community_id": xuefu,
                "channel": "hotline",
                "resident_name": "测试居民",
                "description": "demo check",
                "attributes": answers,
            },
        )
        assert ticket.status_code == 201, ticket.text
        items = session.get(f"{api}/tickets/{ticket.json()['id']}/suggestions").json()["items"]
        assert items, f"no suggestion for {category['code']}"


def test_the_demo_holds_the_yilutongxing_project_with_verified_hours_training_and_a_commendation(
    running_stack: RunningStack,
) -> None:
    session, api = running_stack.session(), f"{running_stack.url}/api/v1"
    kuixinglou = next(
        p
        for p in session.get(f"{api}/places", params={"level": "community", "limit": 100}).json()["items"]
        if p["name"] == "奎星楼社区"
    )
    [project] = session.get(f"{api}/projects", params={"community_id": kuixinglou["id"]}).json()["items"]
    assert project["name"].startswith("益路童行") and project["beneficiary_groups"] == ["children_in_difficulty"]
    activities = session.get(f"{api}/activities", params={"project_id": project["id"]}).json()["items"]
    held = [a for a in activities if a["kind"] == "service" and a["state"] == "closed"]
    coming = [a for a in activities if a["state"] == "published"]
    training = [a for a in activities if a["kind"] == "training"]
    assert held and coming and training
    kuixinglou_grids = session.get(f"{api}/places", params={"parent_id": kuixinglou["id"], "level": "grid"}).json()
    in_grids = {a["grid_id"] for a in activities}
    assert in_grids and in_grids <= {g["id"] for g in kuixinglou_grids["items"]}  # each in a grid of its community
    assert coming[0]["confirmed"] == coming[0]["capacity"] and coming[0]["waiting"] >= 1  # a waiting list
    sign_ups = session.get(f"{api}/activities/{held[0]['id']}/sign-ups").json()["items"]
    attended = [s for s in sign_ups if s["checked_in_at"]]
    assert attended and {s["status"] for s in sign_ups} >= {"confirmed", "cancelled"}

    entries = session.get(f"{api}/hours/entries", params={"source": "attendance", "source_id": held[0]["id"]}).json()[
        "items"
    ]
    assert {e["volunteer_id"] for e in entries} == {s["volunteer_id"] for s in attended}
    assert {e["status"] for e in entries} == {"verified"} and all(
        e["organisation_id"] == project["agency_id"] for e in entries
    )
    indicators = session.get(f"{api}/projects/{project['id']}").json()["indicators"]
    assert indicators["activities"] == 2 and indicators["beneficiary_visits"] > 0
    assert indicators["verified_minutes"] == sum(e["minutes"] for e in entries)

    records = [session.get(f"{api}/hours/volunteers/{s['volunteer_id']}/record").json() for s in attended]
    commended = [
        r
        for r in records
        if any(c["kind"] == "commendation" for c in r["commendations"])
        and any(t["kind"] == "training" for t in r["training"])
    ]
    assert commended, "a volunteer's national record shows a real training and a real commendation"
    [award] = [c for c in commended[0]["commendations"] if c["kind"] == "commendation"]
    assert award["title"] == "优秀志愿者" and award["awarding_body"]


def test_the_activities_events_reach_a_plain_amqp_subscriber(running_stack: RunningStack, tap: Any) -> None:
    session, api = running_stack.session(), f"{running_stack.url}/api/v1"
    events = tap("activities")
    [project] = session.get(f"{api}/projects", params={"limit": 1}).json()["items"]
    [coming] = [
        a
        for a in session.get(f"{api}/activities", params={"project_id": project["id"], "state": "published"}).json()[
            "items"
        ]
    ]
    # a registered volunteer with the skills the activity requires, not yet signed up
    taken = {s["volunteer_id"] for s in session.get(f"{api}/activities/{coming['id']}/sign-ups").json()["items"]}
    skilled = session.get(f"{api}/volunteers", params={"skill": coming["required_skills"][0], "limit": 100}).json()
    volunteer = next(
        v["id"] for v in skilled["items"] if set(coming["required_skills"]) <= set(v["skills"]) and v["id"] not in taken
    )
    r = session.post(f"{api}/activities/{coming['id']}/sign-ups", json={"volunteer_id": volunteer})
    assert r.status_code == 200 and r.json()["status"] == "waiting", r.text
    [event] = events.wait_for("activity.signed_up")
    assert parse_envelope(event).data == {
        "activity_id": coming["id"],
        "volunteer_id": volunteer,
        "status": "waiting",
    }


def test_sigterm_stops_every_process_with_exit_0(running_stack: RunningStack) -> None:
    # the last test of this module: the fixture's teardown finds the stack already stopped
    assert processes_with_env(running_stack.env_marker), "the services run as children carrying the stack's env"
    assert running_stack.stop() == 0, running_stack.output()[-5000:]
    assert processes_with_env(running_stack.env_marker) == []


def test_run_explains_how_to_start_rabbitmq_when_none_answers(tmp_path: Any) -> None:
    env = dict(
        os.environ,
        YILIN_AMQP_URI=f"pyamqp://guest:guest@127.0.0.1:{free_port()}/",
        YILIN_DATABASE_URL=f"sqlite:///{tmp_path}/{{service}}.db",
    )
    result = subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "RabbitMQ is not answering" in result.stderr and "rabbitmq-server" in result.stderr


def test_a_service_that_cannot_start_is_named_in_one_line_without_a_traceback(amqp_uri: str, tmp_path: Any) -> None:
    http_port, offset = stack_ports()
    env = dict(
        os.environ,
        YILIN_AMQP_URI=amqp_uri,
        YILIN_DATABASE_URL=f"sqlite:///{tmp_path}/{{service}}.db",
        YILIN_HTTP_ADDRESS=f"127.0.0.1:{http_port}",
        YILIN_METRICS_PORT_OFFSET=str(offset),
        YILIN_CERTIFICATE_KEY="",
    )  # the hours service cannot sign certificates without it
    env.pop("YILIN_METRICS_PORT", None)
    result = subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "run", "--no-demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    failures = [line for line in output.splitlines() if "failed to start" in line]
    assert failures == [
        "hours failed to start: ConfigurationError: CERTIFICATE_KEY (YILIN_CERTIFICATE_KEY) is required"
    ], output
    assert "Traceback" not in output, output
