"""What the fund's HTTP tests share: the stack they start, a seeded district (places and
the enterprise's organisations), a registered enterprise, and RPC calls as other identities."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client import REGISTRY

from services.district import LOCAL_TIME
from yilin.identity import Identity

YEAR = datetime.now(LOCAL_TIME).year


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


def report_profit(http: Any, url: str, enterprise: dict[str, Any], net_profit: str) -> dict[str, Any]:
    """Last year's profit report of ``enterprise`` (so a contribution to its pool)."""
    body = {
        "enterprise_id": enterprise["id"],
        "fiscal_year": YEAR - 1,
        "net_profit": net_profit,
        "transfer_id": str(uuid.uuid4()),
    }
    r = http.post(f"{url}/api/v1/fund/profit-reports", json=body)
    assert r.status_code == 201, r.text
    return r.json()
