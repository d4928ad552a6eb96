"""Disbursements through the gateway over HTTP and over RPC with other identities: four
eyes on every payment, the transparency report reconciles; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import requests

from services.demo import DemoApi
from services.fund import demo
from tests.fund.seeding import YEAR, as_, metric, register, report_profit, seed, start
from tests.problems import problem, problem_fields
from yilin.errors import Conflict, Forbidden


def test_disbursement_needs_two_distinct_approvals_and_the_report_reconciles(stack: Any, tap: Any, http: Any) -> None:
    s = start(stack)
    events = tap("fund")
    ids = seed(http, s.url)
    community = ids["PD-01-01"]
    enterprise = register(http, s.url, ids)
    report_profit(http, s.url, enterprise, "1234567.89")

    with as_(s, "sw-1", "social_worker") as requester:
        request = requester.request_disbursement(
            {
                "community_id": community,
                "category": "hardware_repair",
                "amount": "3680.50",
                "purpose": "Replace 12 broken drain covers",
                "ticket_id": str(uuid.uuid4()),
            }
        )
        too_big = requester.request_disbursement(
            {
                "community_id": community,
                "category": "courtyard_renovation",
                "amount": "200000.00",
                "purpose": "Renovate the east courtyard",
            }
        )
    assert request["status"] == "requested" and request["amount_fen"] == 368050
    rid = request["id"]
    pay = f"{s.url}/api/v1/fund/disbursements/{rid}/payment"

    with as_(s, "sw-1", "fund_committee") as himself:
        try:
            himself.approve_disbursement(rid, {})
            raise AssertionError("self-approval accepted")
        except Forbidden as error:
            assert "approver" in error.fields
    with as_(s, "auditor-1", "auditor") as auditor:
        try:
            auditor.approve_disbursement(rid, {})
            raise AssertionError("an auditor changed something")
        except Forbidden as error:
            assert "auditors" in error.message
        assert auditor.trial_balance()["balanced"]
    with as_(s, "member-a", "fund_committee") as a:
        assert a.approve_disbursement(rid, {})["status"] == "requested"
        try:
            a.approve_disbursement(rid, {})
            raise AssertionError("approved twice")
        except Conflict as error:
            assert "approver" in error.fields
    r = http.post(pay, json={"transfer_id": str(uuid.uuid4())})
    assert r.status_code == 409 and "status" in problem_fields(r) and "1" in problem(r)["detail"]
    assert metric("yilin_disbursements_pending") == 2

    with as_(s, "member-b", "fund_committee") as b:
        approved = b.approve_disbursement(rid, {})
        assert approved["status"] == "approved" and approved["approvals"] == ["member-a", "member-b"]
        for who in (b,):
            who.approve_disbursement(too_big["id"], {})
    with as_(s, "member-c", "fund_committee") as c:
        c.approve_disbursement(too_big["id"], {})
        try:
            c.pay_disbursement(too_big["id"], {"transfer_id": str(uuid.uuid4())})
            raise AssertionError("an approver paid")
        except Forbidden as error:
            assert "payer" in error.fields
    balance = http.get(f"{s.url}/api/v1/fund/pools/{community}").json()["balance_fen"]
    with as_(s, "treasurer-1", "operator") as treasurer:
        try:
            treasurer.pay_disbursement(too_big["id"], {"transfer_id": str(uuid.uuid4())})
            raise AssertionError("overdrawn")
        except Conflict as error:
            assert "amount" in error.fields
    assert http.get(f"{s.url}/api/v1/fund/pools/{community}").json()["balance_fen"] == balance

    transfer_id = str(uuid.uuid4())
    r = http.post(pay, json={"transfer_id": transfer_id})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid" and r.json()["transfer_id"] == transfer_id
    assert http.post(pay, json={"transfer_id": transfer_id}).json() == r.json()  # retry: first answer
    r2 = http.post(pay, json={"transfer_id": str(uuid.uuid4())})
    assert r2.status_code == 409 and "status" in problem_fields(r2)
    [paid] = events.wait_for("disbursement.paid")
    assert paid["data"]["amount_fen"] == 368050 and paid["data"]["pool_balance_fen"] == 12345679 - 368050
    assert len(events.wait_for("disbursement.approved", 4)) == 4
    assert metric("yilin_fund_pool_balance_fen") == 12345679 - 368050

    report = http.get(f"{s.url}/api/v1/fund/communities/{community}/transparency", params={"year": YEAR}).json()
    ledger_balance = http.get(f"{s.url}/api/v1/fund/pools/{community}").json()["balance_fen"]
    assert report["reconciled"] is True
    assert report["opening_balance_fen"] == 0
    assert report["contributions_fen"] == 12345679 and report["disbursements_fen"] == 368050
    assert report["closing_balance_fen"] == ledger_balance == 12345679 - 368050
    assert report["contributions"] == [
        {
            "enterprise_id": enterprise["id"],
            "enterprise_code": "NIGHT-1",
            "enterprise_name": "望丛夜市",
            "fiscal_years": [YEAR - 1],
            "amount_fen": 12345679,
        }
    ]
    assert report["disbursements_by_category"] == [{"category": "hardware_repair", "count": 1, "amount_fen": 368050}]
    assert [d["purpose"] for d in report["disbursements"]] == ["Replace 12 broken drain covers"]
    assert "sw-1" not in str(report) and "member-a" not in str(report)  # no people in the public report

    r = http.get(f"{s.url}/api/v1/fund/communities/{community}/transparency", params={"year": YEAR, "format": "csv"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    by_section = {row["section"]: row for row in rows}
    assert by_section["closing_balance"]["amount_fen"] == str(ledger_balance)
    assert by_section["closing_balance"]["amount_yuan"] == "119776.29"
    assert sum(int(row["amount_fen"]) for row in rows if row["section"] == "contribution") == 12345679
    last_year = http.get(f"{s.url}/api/v1/fund/communities/{community}/transparency", params={"year": YEAR - 1}).json()
    assert last_year["closing_balance_fen"] == 0 and last_year["reconciled"]


def test_one_person_cannot_move_money_over_http(stack: Any, http: Any) -> None:
    """Four eyes: an operator requesting, recording approvals under invented names and
    paying alone is refused at each step; only authenticated committee members approve,
    each once, and the payer is neither the requester nor an approver."""
    from tests.security.credentials import bearer

    s = start(stack)
    ids = seed(http, s.url)
    community = ids["PD-01-01"]
    enterprise = register(http, s.url, ids)
    report_profit(http, s.url, enterprise, "100000.00")
    api = f"{s.url}/api/v1/fund/disbursements"
    r = http.post(
        api, json={"community_id": community, "category": "hardware_repair", "amount": "100.00", "purpose": "Bins"}
    )  # requested by test-operator
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for member in ("fund-committee-zhang", "fund-committee-li", None):  # the operator as "the committee"
        r = http.post(f"{api}/{rid}/approvals", json={"member": member} if member else {})
        assert r.status_code == 403, r.text
    zhang, li = bearer("fund_committee", "zhang"), bearer("fund_committee", "li")
    r = http.post(f"{api}/{rid}/approvals", json={"member": "li"}, headers=zhang)  # approving for someone else
    assert r.status_code == 403 and "member" in r.text
    assert http.post(f"{api}/{rid}/approvals", json={}, headers=zhang).json()["status"] == "requested"
    r = http.post(f"{api}/{rid}/approvals", json={}, headers={**zhang, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 409  # the same identity counts once
    assert http.post(f"{api}/{rid}/payment", json={"transfer_id": str(uuid.uuid4())}).status_code == 409
    assert http.post(f"{api}/{rid}/approvals", json={}, headers=li).json()["status"] == "approved"
    for who in (http.headers, zhang, li):  # the requester (an operator) and each approver
        r = requests.post(
            f"{api}/{rid}/payment", json={"transfer_id": str(uuid.uuid4())}, headers=dict(who), timeout=10
        )
        assert r.status_code == 403 and "payer" in r.text, r.text
    assert http.get(f"{api}/{rid}").json()["status"] == "approved"  # nothing moved
    r = requests.post(
        f"{api}/{rid}/payment",
        json={"transfer_id": str(uuid.uuid4())},
        headers=bearer("operator", "treasurer"),
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["status"] == "paid", r.text


def test_demo_creates_a_paid_disbursement(stack: Any, http: Any) -> None:
    s = start(stack)
    ids = seed(http, s.url)
    from tests.security.credentials import bearer

    api = DemoApi(s.url, identity_headers=bearer, session=http)
    created = demo.load(api, {"communities": [ids["PD-01-01"]], "organisations": {}})
    fund = created["fund"]
    assert fund["pools"][ids["PD-01-01"]] == 12345679 - 368000
    [paid] = fund["disbursements"]["paid"]
    assert http.get(f"{s.url}/api/v1/fund/disbursements/{paid}").json()["status"] == "paid"
