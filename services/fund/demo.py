"""The fund's part of the demo district: a night-market operator owned by its residents'
committee, its profit report (and so its contribution), and a disbursement request for
new drain covers with two committee members' approvals and a third person's payment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.district import LOCAL_TIME

API = ""  # DemoApi adds the /api/v1 prefix
# Fixed client ids: loading the demo twice replays the same transfers instead of doubling them.
REPORT_TRANSFER = str(uuid.uuid5(uuid.NAMESPACE_URL, "yilin-demo/fund/report"))
PAYMENT_TRANSFER = str(uuid.uuid5(uuid.NAMESPACE_URL, "yilin-demo/fund/payment"))


def _organisation(api: Any, community_id: str, kind: str, code: str, name: str) -> str:
    found = api.get(f"{API}/organisations", {"kind": kind, "community_id": community_id})["items"]
    if found:
        return found[0]["id"]
    return api.post(f"{API}/organisations", {"code": code, "name": name, "kind": kind, "community_id": community_id})[
        "id"
    ]


def _some_ticket(context: dict[str, Any]) -> str | None:
    """A resident ticket the repair answers, if the tickets demo made any."""
    by_state = context.get("tickets")
    if not isinstance(by_state, dict):
        return None
    for ids in by_state.values():
        for ticket_id in ids if isinstance(ids, list) else [ids]:
            try:
                return str(uuid.UUID(str(ticket_id)))
            except ValueError:
                continue
    return None


def load(api: Any, context: dict[str, Any]) -> dict[str, Any]:
    market = context.get("night_market")
    if market:  # the registry's own organisation: one identity, one name, in both services
        community, committee, operator_org = (
            market["community_id"],
            market["owner_organisation_id"],
            market["organisation_id"],
        )
        code, name = market["code"], market["name"]
    else:
        community = context["communities"][0]
        committee = _organisation(api, community, "residents_committee", "DEMO-RC-1", "望丛社区居民委员会")
        operator_org = _organisation(api, community, "social_enterprise", "DEMO-SE-1", "望丛夜市运营有限公司")
        code, name = "NIGHT-MARKET-1", "望丛夜市运营有限公司"
    enterprise = api.post(
        f"{API}/fund/enterprises",
        {
            "code": code,
            "name": name,
            "community_id": community,
            "owner_organisation_id": committee,
            "organisation_id": operator_org,
            "contribution_rate_bp": 1000,
        },
    )
    fiscal_year = datetime.now(LOCAL_TIME).year - 1
    report = api.post(
        f"{API}/fund/profit-reports",
        {
            "enterprise_id": enterprise["id"],
            "fiscal_year": fiscal_year,
            "net_profit": "1234567.89",
            "audited": True,
            "document_ref": f"AUD-{fiscal_year}-0001",
            "transfer_id": REPORT_TRANSFER,
        },
    )
    ticket_id = _some_ticket(context)
    request = api.post(
        f"{API}/fund/disbursements",
        {
            "community_id": community,
            "category": "hardware_repair",
            "amount": "3680.00",
            "purpose": "Replace 12 broken drain covers along the 菁蓉夜市 lane",
            "ticket_id": ticket_id,
        },
    )
    # Four eyes: two committee members approve, each signed in as themself, and a
    # treasurer who neither requested nor approved pays.
    for member in ("fund-committee-zhang", "fund-committee-li"):
        request = api.as_identity("fund_committee", member).post(
            f"{API}/fund/disbursements/{request['id']}/approvals", {}
        )
    paid = api.as_identity("operator", "fund-treasurer-wang").post(
        f"{API}/fund/disbursements/{request['id']}/payment", {"transfer_id": PAYMENT_TRANSFER}
    )
    pool = api.get(f"{API}/fund/pools/{community}")
    # The residents asked for parking bays (益邻·心声): the request names their suggestion.
    parking = (context.get("suggestions") or {}).get("parking")
    requested = (
        [
            api.post(
                f"{API}/suggestions/{parking}/fund-requests",
                {"category": "new_community_space", "amount": "12000.00", "purpose": "划设 20 个停车位（居民心声）"},
            )["disbursement"]["id"]
        ]
        if parking
        else []
    )
    return {
        "fund": {
            "enterprises": [enterprise["id"]],
            "profit_reports": [report["id"]],
            "disbursements": {"paid": [paid["id"]], "requested": requested},
            "pools": {community: pool["balance_fen"]},
        }
    }
