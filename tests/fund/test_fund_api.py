"""The fund through the gateway over HTTP (and over RPC with other identities), with the
registry checking communities, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client import REGISTRY

from services.demo import DemoApi
from services.fund import demo
from tests.problems import problem, problem_fields
from yilin.errors import Conflict, Forbidden
from yilin.events import CloudEventSchema
from yilin.identity import Identity

YEAR = datetime.now(timezone(timedelta(hours=8))).year


NO_METRICS_SERVER = {"registry": 0, "fund": 0, "gateway": 0}  # others' runs may hold the default ports


def start(stack: Any) -> Any:
    return stack("registry", "fund", "gateway", METRICS_PORTS=NO_METRICS_SERVER)


def as_(stack: Any, subject: str, role: str, organisation_id: str | None = None) -> ServiceRpcProxy:
    identity = Identity(subject=subject, role=role, organisation_id=organisation_id)
    return stack.rpc("fund", identity)


def seed(http: Any, url: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for code, level, parent in [
        ("PD", "district", None),
        ("PD-01", "street", "PD"),
        ("PD-01-01", "community", "PD-01"),
        ("PD-01-02", "community", "PD-01"),
    ]:
        r = http.post(
            f"{url}/api/v1/places", json={"code": code, "name": code, "level": level, "parent_id": ids.get(parent)}
        )
        assert r.status_code == 201, r.text
        ids[code] = r.json()["id"]
    for code, kind in [("RC-1", "residents_committee"), ("NM-1", "social_enterprise")]:
        r = http.post(
            f"{url}/api/v1/organisations",
            json={"code": code, "name": code, "kind": kind, "community_id": ids["PD-01-01"]},
        )
        assert r.status_code == 201, r.text
        ids[code] = r.json()["id"]
    return ids


def register(http: Any, url: str, ids: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {
        "code": "NIGHT-1",
        "name": "望丛夜市",
        "community_id": ids["PD-01-01"],
        "owner_organisation_id": ids["RC-1"],
        "organisation_id": ids["NM-1"],
        **extra,
    }
    r = http.post(f"{url}/api/v1/fund/enterprises", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "fund"}) or 0.0


def test_profit_report_grows_the_pool_by_exactly_ten_percent(stack: Any, tap: Any, http: Any) -> None:
    s = start(stack)
    events = tap("fund")
    ids = seed(http, s.url)
    enterprise = register(http, s.url, ids)
    community = ids["PD-01-01"]
    pool = f"{s.url}/api/v1/fund/pools/{community}"
    assert http.get(pool).json()["balance_fen"] == 0
    counted = metric("yilin_fund_contributions_fen_total")

    body = {
        "enterprise_id": enterprise["id"],
        "fiscal_year": YEAR - 1,
        "net_profit": "1234567.89",
        "audited": True,
        "document_ref": "AUD-1",
        "transfer_id": str(uuid.uuid4()),
    }
    r = http.post(f"{s.url}/api/v1/fund/profit-reports", json=body)
    assert r.status_code == 201, r.text
    report = r.json()
    # 1,234,567.89 × 10% = 123,456.789 → ROUND_HALF_UP → 123,456.79
    assert report["net_profit_fen"] == 123456789 and report["net_profit"] == "1234567.89"
    assert report["contribution_fen"] == 12345679 and report["contribution"] == "123456.79"
    assert http.get(pool).json() == {"community_id": community, "balance_fen": 12345679, "balance": "123456.79"}

    [recorded] = events.wait_for("contribution.recorded")
    assert CloudEventSchema().validate(recorded) == {} and recorded["source"] == "urn:yilin:service:fund"
    assert recorded["data"]["amount_fen"] == 12345679 and isinstance(recorded["data"]["amount_fen"], int)
    assert recorded["data"]["community_id"] == community and recorded["data"]["pool_balance_fen"] == 12345679
    assert recorded["data"]["transfer_id"] == body["transfer_id"]
    assert events.wait_for("profit.reported")[0]["data"]["net_profit_fen"] == 123456789
    assert events.wait_for("enterprise.registered")[0]["data"]["contribution_rate_bp"] == 1000
    assert metric("yilin_fund_contributions_fen_total") - counted == 12345679

    # the same id and body: the first answer, nothing moves twice
    again = http.post(f"{s.url}/api/v1/fund/profit-reports", json=body)
    assert again.status_code == 201 and again.json() == report
    # the same id, another body: refused
    r = http.post(f"{s.url}/api/v1/fund/profit-reports", json={**body, "net_profit": "1.00"})
    assert r.status_code == 409 and "transfer_id" in problem_fields(r)
    # a second report for the year: amend instead
    r = http.post(f"{s.url}/api/v1/fund/profit-reports", json={**body, "transfer_id": str(uuid.uuid4())})
    assert r.status_code == 409 and "fiscal_year" in problem_fields(r) and "amendment" in problem(r)["detail"]
    assert http.get(pool).json()["balance_fen"] == 12345679

    # an amendment is a new version and moves only the difference
    r = http.post(
        f"{s.url}/api/v1/fund/profit-reports/{report['id']}/amendments",
        json={
            "net_profit": "1000000.00",
            "audited": True,
            "reason": "audit adjustment",
            "transfer_id": str(uuid.uuid4()),
        },
    )
    assert r.status_code == 201, r.text
    amended = r.json()
    assert amended["version"] == 2 and amended["contribution_fen"] == 10000000
    assert amended["adjustment_fen"] == 10000000 - 12345679
    assert http.get(pool).json()["balance_fen"] == 10000000
    assert events.wait_for("contribution.recorded", 2)[1]["data"]["amount_fen"] == -2345679
    assert http.get(f"{s.url}/api/v1/fund/profit-reports/{report['id']}").json() == report  # never edited
    r = http.post(
        f"{s.url}/api/v1/fund/profit-reports/{report['id']}/amendments",
        json={"net_profit": "5.00", "reason": "stale", "transfer_id": str(uuid.uuid4())},
    )
    assert r.status_code == 409 and "report_id" in problem_fields(r)

    trial = http.get(f"{s.url}/api/v1/fund/ledger/trial-balance").json()
    assert trial["balanced"] and trial["debits_fen"] == trial["credits_fen"] == 12345679 + 2345679
    assert http.get(f"{s.url}/api/v1/fund/enterprises/{enterprise['id']}").json()["contributed_fen"] == 10000000


def test_disbursement_needs_two_distinct_approvals_and_the_report_reconciles(stack: Any, tap: Any, http: Any) -> None:
    s = start(stack)
    events = tap("fund")
    ids = seed(http, s.url)
    community = ids["PD-01-01"]
    enterprise = register(http, s.url, ids)
    r = http.post(
        f"{s.url}/api/v1/fund/profit-reports",
        json={
            "enterprise_id": enterprise["id"],
            "fiscal_year": YEAR - 1,
            "net_profit": "1234567.89",
            "transfer_id": str(uuid.uuid4()),
        },
    )
    assert r.status_code == 201, r.text

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


def test_bad_input_is_refused_with_the_field_named_and_nothing_written(stack: Any, http: Any) -> None:
    s = start(stack)
    ids = seed(http, s.url)
    good = {"code": "NIGHT-1", "name": "夜市", "community_id": ids["PD-01-01"], "owner_organisation_id": ids["RC-1"]}
    cases = [
        ({**good, "contribution_rate_bp": -100}, 422, "contribution_rate_bp"),
        ({**good, "contribution_rate_bp": 10001}, 422, "contribution_rate_bp"),
        ({**good, "community_id": ids["PD-01"]}, 422, "community_id"),
        ({**good, "community_id": str(uuid.uuid4())}, 404, "community_id"),
        ({**good, "owner_organisation_id": str(uuid.uuid4())}, 404, "owner_organisation_id"),
        ({**good, "rate": 1000}, 422, "rate"),
    ]
    for body, status, field in cases:
        r = http.post(f"{s.url}/api/v1/fund/enterprises", json=body)
        assert r.status_code == status, (body, r.text)
        assert field in problem_fields(r), r.text
    assert http.get(f"{s.url}/api/v1/fund/enterprises").json()["items"] == []
    enterprise = register(http, s.url, ids)

    report = {
        "enterprise_id": enterprise["id"],
        "fiscal_year": YEAR - 1,
        "net_profit": "100.00",
        "transfer_id": str(uuid.uuid4()),
    }
    for bad, field in [
        ({"net_profit": "1234.567"}, "net_profit"),
        ({"net_profit": 1234.5}, "net_profit"),
        ({"net_profit": "1e5"}, "net_profit"),
        ({"currency": "USD"}, "currency"),
        ({"fiscal_year": 1990}, "fiscal_year"),
        ({"transfer_id": "x"}, "transfer_id"),
    ]:
        r = http.post(f"{s.url}/api/v1/fund/profit-reports", json={**report, **bad})
        assert r.status_code == 422 and field in problem_fields(r), (bad, r.text)
    r = http.post(
        f"{s.url}/api/v1/fund/disbursements",
        json={"community_id": ids["PD-01-01"], "category": "fireworks", "amount": "0.001", "purpose": "x"},
    )
    assert r.status_code == 422 and {"category", "amount"} <= set(problem_fields(r))
    r = http.post(
        f"{s.url}/api/v1/fund/disbursements",
        json={"community_id": ids["PD-01-01"], "category": "other", "amount": "0.00", "purpose": "x"},
    )
    assert r.status_code == 422 and "amount" in problem_fields(r)

    # representatives report only their own enterprise (or their owner's)
    with as_(s, "rep-x", "enterprise_rep", str(uuid.uuid4())) as stranger:
        try:
            stranger.report_profit(report)
            raise AssertionError("a stranger reported")
        except Forbidden as error:
            assert "enterprise_id" in error.fields
    with as_(s, "rep-1", "enterprise_rep", ids["RC-1"]) as owner_rep:
        assert owner_rep.report_profit(report)["contribution_fen"] == 1000
    with as_(s, "auditor-1", "auditor") as auditor:
        try:
            auditor.report_profit({**report, "fiscal_year": YEAR, "transfer_id": str(uuid.uuid4())})
            raise AssertionError("an auditor changed something")
        except Forbidden:
            pass
        assert auditor.list_profit_reports({})["items"][0]["net_profit_fen"] == 10000
    assert len(http.get(f"{s.url}/api/v1/fund/profit-reports").json()["items"]) == 1
    assert http.get(f"{s.url}/api/v1/fund/pools/{ids['PD-01-01']}").json()["balance_fen"] == 1000


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


def test_one_person_cannot_move_money_over_http(stack: Any, http: Any) -> None:
    """Four eyes: an operator requesting, recording approvals under invented names and
    paying alone is refused at each step; only authenticated committee members approve,
    each once, and the payer is neither the requester nor an approver."""
    from tests.security.credentials import bearer

    s = start(stack)
    ids = seed(http, s.url)
    community = ids["PD-01-01"]
    enterprise = register(http, s.url, ids)
    assert (
        http.post(
            f"{s.url}/api/v1/fund/profit-reports",
            json={
                "enterprise_id": enterprise["id"],
                "fiscal_year": YEAR - 1,
                "net_profit": "100000.00",
                "transfer_id": str(uuid.uuid4()),
            },
        ).status_code
        == 201
    )
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
