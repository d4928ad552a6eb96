"""The hours service through the gateway with the real registry: attendance sheets,
verification rules, certificates (PDF and verification), the national record export
and the demo."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import pypdf
import pytest

from services.demo import DemoApi
from services.hours import demo
from tests.gateway.test_registry_api import id_number, seed_places
from tests.harness import wait_until
from tests.problems import problem_fields
from yilin.errors import Conflict, Forbidden
from yilin.identity import Identity

SERVED_ON = date.today() - timedelta(days=3)  # the demo uses yesterday


def seed(s: Any, http: Any) -> dict[str, Any]:
    places = seed_places(http, s.url)
    community = places["PD-01-01"]
    org = http.post(
        f"{s.url}/api/v1/organisations",
        json={"code": "SUN", "name": "阳光志愿者协会", "kind": "volunteer_organisation"},
    ).json()["id"]
    team = http.post(
        f"{s.url}/api/v1/teams",
        json={"code": "T1", "name": "阳光关爱志愿服务队", "organisation_id": org, "community_id": community},
    ).json()
    volunteers = []
    for i, name in enumerate(["王芳", "李雷", "韩梅梅"]):
        r = http.post(
            f"{s.url}/api/v1/volunteers",
            json={
                "name": name,
                "id_number": id_number(40 + i),
                "community_id": community,
                "certifications": [{"kind": "first_aid", "number": f"FA{i}"}],
            },
        )
        assert r.status_code == 201, r.text
        volunteers.append(r.json())
        assert (
            http.post(
                f"{s.url}/api/v1/teams/{team['id']}/members", json={"volunteer_id": volunteers[-1]["id"]}
            ).status_code
            == 201
        )
    wait_until(
        lambda: all(
            http.get(f"{s.url}/api/v1/hours/volunteers/{v['id']}/totals").status_code == 200 for v in volunteers
        ),
        what="hours knows the volunteers",
    )
    return {
        "community": community,
        "org": org,
        "team": {**team, "member_ids": [v["id"] for v in volunteers]},
        "volunteers": volunteers,
    }


def test_sheets_verification_certificate_and_record(stack: Any, http: Any) -> None:
    s = stack("registry", "hours", "gateway")
    w = seed(s, http)
    v0, v1, v2 = (v["id"] for v in w["volunteers"])
    base = {
        "organisation_id": w["org"],
        "activity": "敬老院探访",
        "served_on": SERVED_ON.isoformat(),
        "place": "区敬老院",
        "community_id": w["community"],
        "content": "陪伴老人、打扫卫生",
    }
    sheets = f"{s.url}/api/v1/hours/sheets"

    bad = [
        ({**base, "entries": [{"volunteer_id": v0, "minutes": 0}]}, 422),
        ({**base, "entries": [{"volunteer_id": v0, "minutes": -60}]}, 422),
        ({**base, "entries": [{"volunteer_id": v0, "start_time": "11:00", "end_time": "09:00"}]}, 422),
        ({**base, "entries": [{"volunteer_id": "00000000-0000-0000-0000-000000000000", "minutes": 30}]}, 422),
        ({**base, "entries": [{"volunteer_id": v0, "minutes": 900}, {"volunteer_id": v0, "minutes": 600}]}, 422),
    ]
    for body, status in bad:
        r = http.post(sheets, json=body)
        assert r.status_code == status, r.text
        assert "entries" in problem_fields(r), r.text
    r = http.post(sheets, json={**base, "served_on": "yesterday", "entries": [{"volunteer_id": v0, "minutes": 5}]})
    assert r.status_code == 422 and "served_on" in problem_fields(r)
    assert http.get(f"{s.url}/api/v1/hours/entries").json()["items"] == []

    r = http.post(
        sheets,
        json={
            **base,
            "entries": [
                {"volunteer_id": v0, "start_time": "09:00", "end_time": "11:30"},
                {"volunteer_id": v1, "start_time": "09:00", "end_time": "12:00"},
                {"volunteer_id": v2, "minutes": 90},
            ],
        },
    )
    assert r.status_code == 201, r.text
    sheet = r.json()
    assert [e["minutes"] for e in sheet["entries"]] == [150, 180, 90]
    assert {e["status"] for e in sheet["entries"]} == {"pending"}
    r = http.post(sheets, json={**base, "entries": [{"volunteer_id": v0, "start_time": "11:00", "end_time": "12:00"}]})
    assert r.status_code == 409 and "entries" in problem_fields(r)
    assert len(http.get(f"{s.url}/api/v1/hours/entries").json()["items"]) == 3

    e0, e1, e2 = (e["id"] for e in sheet["entries"])
    verifier = Identity(v1, "verifier", w["org"])  # a volunteer who is also the organisation's verifier
    with s.rpc("hours", verifier) as hours:
        with pytest.raises(Forbidden):
            hours.verify_entry(e1)  # their own hours
        assert hours.verify_entry(e0)["status"] == "verified"
        with pytest.raises(Conflict):
            hours.verify_entry(e0)
    r = http.post(f"{s.url}/api/v1/hours/entries/{e2}/reject", json={"reason_code": "not_served"})
    assert r.status_code == 422 and "reason" in problem_fields(r)
    assert http.post(f"{s.url}/api/v1/hours/entries/{e1}/verify").status_code == 200
    r = http.post(f"{s.url}/api/v1/hours/entries/{e1}/verify")
    assert r.status_code == 409 and "entry_id" in problem_fields(r)
    assert (
        http.post(f"{s.url}/api/v1/hours/entries/{e2}/reject", json={"reason": "没有到场"}).json()["status"]
        == "rejected"
    )
    totals = http.get(f"{s.url}/api/v1/hours/volunteers/{v0}/totals").json()
    assert (totals["verified_minutes"], totals["pending_minutes"]) == (150, 0)
    # a period: the day served, the days after it, and one whose end is before its start
    day = SERVED_ON.isoformat()
    totals_of = f"{s.url}/api/v1/hours/volunteers/{v0}/totals"
    served = http.get(totals_of, params={"from": day, "to": day}).json()
    assert (served["verified_minutes"], served["from"], served["to"]) == (150, day, day)
    assert (
        http.get(totals_of, params={"from": (SERVED_ON + timedelta(days=1)).isoformat()}).json()["verified_minutes"]
        == 0
    )
    assert http.get(totals_of, params={"to": day}).json()["verified_minutes"] == 150
    r = http.get(totals_of, params={"from": day, "to": (SERVED_ON - timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and "to" in problem_fields(r)
    board = http.get(f"{s.url}/api/v1/hours/leaderboard", params={"by": "volunteer"}).json()["items"]
    assert [(i["id"], i["verified_minutes"]) for i in board] == [(v1, 180), (v0, 150)]
    assert http.get(f"{s.url}/api/v1/hours/leaderboard", params={"by": "street"}).status_code == 422

    # the certificate, as a PDF that shows the national fields
    issue = {
        "volunteer_id": v0,
        "organisation_id": w["org"],
        "from": (SERVED_ON - timedelta(days=30)).isoformat(),
        "to": SERVED_ON.isoformat(),
        "person_in_charge": "张主任",
        "contact": "028-87654321",
    }
    r = http.post(
        f"{s.url}/api/v1/hours/certificates", json={**issue, "to": (SERVED_ON - timedelta(days=40)).isoformat()}
    )
    assert r.status_code == 422 and "to" in problem_fields(r)
    r = http.post(f"{s.url}/api/v1/hours/certificates", json={**issue, "volunteer_id": v2})
    assert r.status_code == 422 and "volunteer_id" in problem_fields(r)  # nothing verified to certify
    r = http.post(f"{s.url}/api/v1/hours/certificates", json=issue)
    assert r.status_code == 201, r.text
    cert = r.json()
    masked = id_number(40)[:4] + "*" * 10 + id_number(40)[-4:]
    assert (cert["volunteer_name"], cert["id_number"], cert["minutes"], cert["hours"]) == ("王芳", masked, 150, "2.5")
    r = http.get(f"{s.url}/api/v1/hours/certificates/{cert['id']}/pdf")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    # pypdf reads the Noto CJK (CFF) font's two-byte Identity CMap one byte at a time: a NUL
    # precedes every character, which pdftotext does not show.
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(r.content)).pages).replace("\x00", "")
    for shown in (
        "志愿服务记录证明",
        "王芳",
        masked,
        w["volunteers"][0]["number"],
        "2.5",
        "敬老院探访",
        "阳光志愿者协会",
        "张主任",
        "028-87654321",
        cert["number"],
        cert["issued_on"],
        issue["from"],
        issue["to"],
    ):
        assert shown in text, (shown, text)
    assert id_number(40) not in text

    # verification: genuine passes, any alteration fails
    check = f"{s.url}/api/v1/hours/certificates/verify"
    r = http.get(check, params={"number": cert["number"], "minutes": 150})
    assert r.status_code == 200 and r.json()["valid"] is True and r.json()["certificate"]["minutes"] == 150
    assert "王芳" not in r.text and masked not in r.text and v0 not in r.text  # public: nothing of the volunteer
    number = cert["number"]
    altered_mac = number[:-1] + ("0" if number[-1] != "0" else "1")
    altered_serial = number[:8] + str((int(number[8:15]) + 1) % 10**7).zfill(7) + number[15:]
    for altered in (altered_mac, altered_serial, number.replace("YLZM", "YLZN")):
        r = http.get(check, params={"number": altered})
        assert r.status_code in (404, 422) and "number" in problem_fields(r), (altered, r.text)
    r = http.get(check, params={"number": number, "minutes": 1500})
    assert r.status_code == 422 and "minutes" in problem_fields(r)

    # the national record, as JSON and CSV
    record = http.get(f"{s.url}/api/v1/hours/volunteers/{v0}/record").json()
    assert set(record) == {"personal", "service", "training", "commendations", "evaluation"}
    assert record["personal"]["name"] == "王芳" and record["personal"]["id_number"] == masked
    assert record["personal"]["team_ids"] == [w["team"]["id"]]
    assert [(x["content"], x["minutes"], x["start_time"]) for x in record["service"]] == [("敬老院探访", 150, "09:00")]
    assert record["training"] == [{"kind": "first_aid", "number": "FA0", "issued_on": None}]
    assert record["evaluation"]["verified_minutes"] == 150
    r = http.get(f"{s.url}/api/v1/hours/volunteers/{v0}/record", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["section"] for row in rows} == {"personal", "service", "training", "evaluation"}
    assert [row["minutes"] for row in rows if row["section"] == "service"] == ["150"]
    assert http.get(f"{s.url}/api/v1/hours/volunteers/{v0}/record", params={"format": "xml"}).status_code == 422

    # the demo: a sheet verified by a verifier, and a certificate
    created = demo.load(
        DemoApi(s.url, session=http),
        {
            "communities": [w["community"]],
            "organisations": {"SUN": w["org"]},
            "teams": [w["team"]],
            "volunteers": [v0, v1, v2],
        },
    )["hours"]
    demo_sheet = http.get(f"{s.url}/api/v1/hours/sheets/{created['sheet_id']}").json()
    assert {e["status"] for e in demo_sheet["entries"]} == {"verified"} and created["verified_minutes"] == 480
    assert http.get(check, params={"number": created["certificate_number"]}).json()["valid"] is True
    json.dumps(created)
