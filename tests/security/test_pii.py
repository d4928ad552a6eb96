"""Personal data stays where it belongs: an end-to-end run across every service — it
registers, updates and imports volunteers (and gets some of it wrong), then plays the
contract scenario (every event type of every service: tickets, hours, fund) and opens
tickets for residents with their names and mobile numbers — leaves no ID number or mobile
number in any event, log line or API response; responses carry them masked."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import requests

from services import SERVICES
from tests.contract import scenario
from tests.harness import if_match
from tests.problems import problem_fields
from tests.security.credentials import bearer
from tests.security.district import PHONES, id_number, seed
from yilin.logs import StructuredFormatter

# 18 characters with the check-digit shape (17 digits, then a digit or X), and mainland
# mobile numbers; neither may touch another ASCII letter or digit, so the hex of a UUID
# or a digest (the 12-digit group "a14458966303" of an id) is not taken for one.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def personal_numbers(text: str) -> list[str]:
    return ID_NUMBER.findall(text) + MOBILE.findall(text)


class Recorder(logging.Handler):
    """Every record any logger emits during the run, formatted as deployed and raw."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = StructuredFormatter("json")

    def emit(self, record: logging.LogRecord) -> None:
        raw = record.getMessage()
        if record.exc_info:
            raw += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines += [raw, self.formatter_.format(record)]


@pytest.fixture
def log_lines() -> Any:
    recorder = Recorder()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    quiet = {name: logging.getLogger(name).level for name in ("kombu", "amqp", "urllib3", "pika")}
    for name in quiet:  # transport chatter (frames, heartbeats) is not the application's log
        logging.getLogger(name).setLevel(logging.WARNING)
    yield recorder.lines
    root.removeHandler(recorder)
    root.setLevel(previous)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


BACKENDS = tuple(name for name in SERVICES if name != "gateway")
# Residents who open tickets: their names and mobile numbers go in, never out again.
RESIDENTS = {"李阿姨": "13700002222", "张师傅": "15611113333", "陈奶奶": "18922224444"}


def open_residents_tickets(http: Any, api: str, community: str) -> list[str]:
    """Tickets opened for residents by the hotline and by a resident themself, read back
    masked; a malformed number is refused without being echoed."""
    opened = []
    for name, phone in RESIDENTS.items():
        r = http.post(
            f"{api}/tickets",
            json={
                "category_code": "blocked_drain",
                "community_id": community,
                "channel": "hotline",
                "resident_name": name,
                "resident_phone": phone,
                "address": "幸福路2号",
                "description": "厨房下水道堵了",
                "attributes": {"location": "kitchen"},
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["resident"] == {
            "id": None,
            "name": name,
            "phone": phone[:3] + "****" + phone[-4:],
            "address": "幸福路2号",
        }
        opened.append(r.json()["id"])
    own = requests.post(
        f"{api}/tickets",
        headers=bearer("resident", "resident-7"),
        json={
            "category_code": "blocked_drain",
            "community_id": community,
            "channel": "resident_online",
            "resident_name": "赵大姐",
            "resident_phone": "13566667777",
            "description": "楼道灯坏了",
            "attributes": {"location": "public_area"},
        },
    )
    assert own.status_code == 201 and own.json()["resident"]["phone"] == "135****7777", own.text
    mine = requests.get(f"{api}/tickets", headers=bearer("resident", "resident-7"))
    assert [t["id"] for t in mine.json()["items"]] == [own.json()["id"]]
    bad = http.post(
        f"{api}/tickets",
        json={
            "category_code": "blocked_drain",
            "community_id": community,
            "channel": "hotline",
            "resident_name": "x",
            "resident_phone": "1370000222",
            "description": "x",
        },
    )
    assert bad.status_code == 422 and "resident_phone" in problem_fields(bad)
    assert http.post(f"{api}/tickets/{opened[0]}/cancel", json={"note": "duplicate"}).status_code == 200
    listed = http.get(f"{api}/tickets", params={"limit": 200}).json()["items"]
    assert all(t["resident"]["phone"] is None or "****" in t["resident"]["phone"] for t in listed)
    return opened + [own.json()["id"]]


def test_no_id_or_phone_number_in_events_logs_or_responses(
    stack: Any, tap: Any, http: Any, log_lines: list[str], amqp_uri: str
) -> None:
    assert personal_numbers(f"x {id_number(5)} y 13800138000 z") == [id_number(5), "13800138000"]  # the scan works
    assert personal_numbers("电话13800138000，id 0e1f2a3b-0c4d-4e5f-8a9b-c14458966303") == ["13800138000"]
    s = stack(*SERVICES, **scenario.CONFIG)
    events = tap(*BACKENDS)
    responses: list[str] = []
    http.hooks["response"].append(lambda r, *a, **k: responses.append(r.text))
    api = f"{s.url}/api/v1"

    ids = seed(http, s.url)
    community = ids["community"]
    volunteer_url = f"{api}/volunteers/{ids['volunteer_a']}"
    r = http.patch(
        volunteer_url, json={"phone": "18611112222", "status": "suspended"}, headers=if_match(http, volunteer_url)
    )
    assert r.status_code == 200 and r.json()["phone"] == "186****2222"
    wrong_check_digit = id_number(7)[:17] + ("0" if id_number(7)[17] != "0" else "1")
    rows = [
        {"name": "王五", "id_number": id_number(3), "phone": "13511112222", "community_id": community},
        {"name": "重复", "id_number": id_number(1), "community_id": community},
        {"name": "错号", "id_number": wrong_check_digit, "phone": "13611112222", "community_id": community},
        {"name": "错电话", "id_number": id_number(4), "phone": "1371111222", "community_id": community},
    ]
    r = http.post(f"{api}/volunteers/import", json={"rows": rows})
    assert r.status_code == 200 and r.json()["created"] == 1 and len(r.json()["rejected"]) == 2, r.text
    assert (
        http.post(
            f"{api}/volunteers",
            json={"name": "重复", "id_number": id_number(2), "phone": "13999998888", "community_id": community},
        ).status_code
        == 409
    )
    assert (
        http.post(
            f"{api}/volunteers", json={"name": "x", "id_number": wrong_check_digit, "community_id": community}
        ).status_code
        == 422
    )
    assert (
        http.post(
            f"{api}/volunteers",
            json={"name": "x", "id_number": id_number(8), "phone": "139123456789", "community_id": community},
        ).status_code
        == 422
    )
    listed = http.get(f"{api}/volunteers", params={"limit": 200}).json()["items"]
    assert len(listed) == 3 and all("*" in v["id_number"] for v in listed)
    mine = requests.get(f"{api}/volunteers/{ids['volunteer_b']}", headers=bearer("volunteer", ids["volunteer_b"]))
    responses.append(mine.text)
    assert mine.json()["phone"] == PHONES[2][:3] + "****" + PHONES[2][-4:]

    # Every other service, end to end: the contract scenario (every event type), tickets
    # for residents, the volunteer's national record and a certificate.
    context = scenario.run(scenario.Api(s.url, http), {"amqp_uri": amqp_uri})
    tickets = open_residents_tickets(http, api, context["communities"][0])
    star = context["served_long"]
    record = http.get(f"{api}/hours/volunteers/{star}/record")
    assert record.status_code == 200 and "*" in record.json()["personal"]["id_number"], record.text
    csv = http.get(f"{api}/hours/volunteers/{star}/record", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    certificate = http.post(
        f"{api}/hours/certificates",
        json={
            "volunteer_id": star,
            "organisation_id": context["teams"][0]["organisation_id"],
            "from": "2000-01-01",
            "to": "2099-12-31",
            "person_in_charge": "刘主任",
            "contact": "028-87654321",
        },
    )
    assert certificate.status_code == 201, certificate.text
    for service in BACKENDS:
        responses.append(
            requests.get(f"{api}/audit", params={"service": service, "limit": 200}, headers=bearer("auditor")).text
        )

    published = events.wait_for("volunteer.registered", 3 + 3)
    events.wait_for("volunteer.deactivated")
    events.wait_for("ticket.opened", 3 + len(tickets))
    events.wait_for("ticket.cancelled", 2)
    seen = {(m["exchange"], m["routing_key"]) for m in events.messages}
    expected = {(f"{source}.events", name) for source, name, _ in scenario.expected_events(tuple(SERVICES))}
    assert expected <= seen, sorted(expected - seen)  # every event type of every service was scanned
    sent = [m["raw"].decode() if isinstance(m["raw"], bytes) else str(m["raw"]) for m in events.messages]
    assert len(published) == 6 and len(sent) >= 60
    assert len(log_lines) >= 50 and len(responses) >= 60  # the scan saw a real run
    found = {
        "events": [n for text in sent for n in personal_numbers(text)],
        "logs": [n for text in log_lines for n in personal_numbers(text)],
        "responses": [n for text in responses for n in personal_numbers(text)],
    }
    assert found == {"events": [], "logs": [], "responses": []}
    everything = "\n".join(sent + log_lines + responses)
    for value in [
        id_number(1),
        id_number(2),
        id_number(3),
        *PHONES.values(),
        "18611112222",
        "13511112222",
        *RESIDENTS.values(),
        "13566667777",
        "13900001234",
    ]:
        assert value not in everything
    for name in ("志愿者1", "王五", *RESIDENTS, "赵大姐", "王大爷"):  # names are in responses, never in events
        assert name not in "\n".join(sent)
