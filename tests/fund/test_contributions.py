"""Profit reports through the gateway: the pool grows by exactly the contribution, once per
transfer, and an amendment moves only the difference; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fund.seeding import YEAR, metric, register, seed, start
from tests.problems import problem, problem_fields
from yilin.events import CloudEventSchema


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
