"""The fund's step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.district import LOCAL_TIME
from tests.contract.scenario.client import Api


def fund_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """A night-market operator, its profit report (so a contribution), one request paid
    after two committee approvals and one rejected: every fund event type."""
    community = context["communities"][0]
    owners = {}
    for code, kind in [("PD-RC", "residents_committee"), ("PD-NM", "social_enterprise")]:
        owners[kind] = api.post(
            "/organisations", {"code": code, "name": code, "kind": kind, "community_id": community}
        )["id"]
    enterprise = api.post(
        "/fund/enterprises",
        {
            "code": "NIGHT-MARKET-1",
            "name": "望丛夜市运营有限公司",
            "community_id": community,
            "owner_organisation_id": owners["residents_committee"],
            "organisation_id": owners["social_enterprise"],
            "contribution_rate_bp": 1000,
        },
    )
    year = datetime.now(LOCAL_TIME).year - 1
    api.post(
        "/fund/profit-reports",
        {
            "enterprise_id": enterprise["id"],
            "fiscal_year": year,
            "net_profit": "1234567.89",
            "audited": True,
            "document_ref": f"AUD-{year}",
            "transfer_id": str(uuid.uuid4()),
        },
    )
    [ticket] = context.get("tickets", {}).get("confirmed", [None])
    paid = api.post(
        "/fund/disbursements",
        {
            "community_id": community,
            "category": "hardware_repair",
            "amount": "3680.00",
            "purpose": "Replace 12 broken drain covers",
            "ticket_id": ticket,
        },
    )
    # Four eyes: two members approve as themselves; a treasurer who did neither pays.
    from tests.security.credentials import bearer

    for member in ("fund-committee-zhang", "fund-committee-li"):
        api.post(f"/fund/disbursements/{paid['id']}/approvals", {}, headers=bearer("fund_committee", member))
    api.post(
        f"/fund/disbursements/{paid['id']}/payment",
        {"transfer_id": str(uuid.uuid4())},
        headers=bearer("operator", "fund-treasurer-wang"),
    )
    refused = api.post(
        "/fund/disbursements",
        {"community_id": community, "category": "other", "amount": "99999.00", "purpose": "A private car park"},
    )
    api.post(f"/fund/disbursements/{refused['id']}/rejection", {"reason": "not for the community"})
    return {
        "fund": {"enterprise": enterprise["id"], "disbursements": {"paid": [paid["id"]], "rejected": [refused["id"]]}}
    }
