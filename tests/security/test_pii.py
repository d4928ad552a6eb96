"""Personal data stays where it belongs: an end-to-end run that registers, updates and
imports volunteers (and gets some of it wrong) leaves no ID number or mobile number in any
event, log line or API response; responses carry them masked."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
import requests

from tests.security.credentials import bearer
from tests.security.district import PHONES, id_number, seed
from yilin.logs import StructuredFormatter

# 18 characters with the check-digit shape (17 digits, then a digit or X), and mainland
# mobile numbers; neither may touch another digit.
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


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


def test_no_id_or_phone_number_in_events_logs_or_responses(stack: Any, tap: Any, http: Any, log_lines: list[str]) -> None:
    assert personal_numbers(f"x {id_number(5)} y 13800138000 z") == [id_number(5), "13800138000"]  # the scan works
    s = stack("registry", "gateway")
    events = tap("registry")
    responses: list[str] = []
    http.hooks["response"].append(lambda r, *a, **k: responses.append(r.text))
    api = f"{s.url}/api/v1"

    ids = seed(http, s.url)
    community = ids["community"]
    r = http.patch(f"{api}/volunteers/{ids['volunteer_a']}", json={"phone": "18611112222", "status": "suspended"})
    assert r.status_code == 200 and r.json()["phone"] == "186****2222"
    wrong_check_digit = id_number(7)[:17] + ("0" if id_number(7)[17] != "0" else "1")
    rows = [{"name": "王五", "id_number": id_number(3), "phone": "13511112222", "community_id": community},
            {"name": "重复", "id_number": id_number(1), "community_id": community},
            {"name": "错号", "id_number": wrong_check_digit, "phone": "13611112222", "community_id": community},
            {"name": "错电话", "id_number": id_number(4), "phone": "1371111222", "community_id": community}]
    r = http.post(f"{api}/volunteers/import", json={"rows": rows})
    assert r.status_code == 200 and r.json()["created"] == 1 and len(r.json()["rejected"]) == 2, r.text
    assert http.post(f"{api}/volunteers", json={"name": "重复", "id_number": id_number(2), "phone": "13999998888",
                                                "community_id": community}).status_code == 409
    assert http.post(f"{api}/volunteers", json={"name": "x", "id_number": wrong_check_digit,
                                                "community_id": community}).status_code == 422
    assert http.post(f"{api}/volunteers", json={"name": "x", "id_number": id_number(8), "phone": "139123456789",
                                                "community_id": community}).status_code == 422
    listed = http.get(f"{api}/volunteers", params={"limit": 200}).json()["items"]
    assert len(listed) == 3 and all("*" in v["id_number"] for v in listed)
    mine = requests.get(f"{api}/volunteers/{ids['volunteer_b']}", headers=bearer("volunteer", ids["volunteer_b"]))
    responses.append(mine.text)
    assert mine.json()["phone"] == PHONES[2][:3] + "****" + PHONES[2][-4:]
    responses.append(requests.get(f"{api}/audit", params={"service": "registry", "limit": 200},
                                  headers=bearer("auditor")).text)

    published = events.wait_for("volunteer.registered", 3)
    events.wait_for("volunteer.deactivated")
    sent = [m["raw"].decode() if isinstance(m["raw"], bytes) else str(m["raw"]) for m in events.messages]
    assert len(published) == 3 and len(sent) >= 12
    assert len(log_lines) >= 20 and len(responses) >= 20  # the scan saw a real run
    found = {"events": [n for text in sent for n in personal_numbers(text)],
             "logs": [n for text in log_lines for n in personal_numbers(text)],
             "responses": [n for text in responses for n in personal_numbers(text)]}
    assert found == {"events": [], "logs": [], "responses": []}
    everything = "\n".join(sent + log_lines + responses)
    for value in [id_number(1), id_number(2), id_number(3), *PHONES.values(), "18611112222", "13511112222"]:
        assert value not in everything
    for name in ("志愿者1", "王五"):  # names are in responses, never in events
        assert name not in "\n".join(sent)
