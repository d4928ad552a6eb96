"""Bad input to the fund, over HTTP and RPC, with the registry checking communities: refused
with the field named and nothing written; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fund.seeding import YEAR, as_, register, seed, start
from tests.problems import problem_fields
from yilin.errors import Forbidden


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
