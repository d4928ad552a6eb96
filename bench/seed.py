"""A district to measure against, created through the services' own RPC API (the way
``yilin import`` and the gateway create it) or, for the bulk that only needs to exist,
written straight into the tables with ``COPY``/``generate_series``."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from nameko.standalone.rpc import ClusterRpcProxy

from services.registry.id_numbers import id_check_digit
from yilin.identity import Identity, identity_context

OPERATOR = Identity(subject="bench-operator", role="operator")
SKILLS = ["elder_care", "plumbing", "locksmith", "bill_payment", "mediation", "first_aid", "child_care"]
BENCH_SECRET = "bench-jwt-secret-" + "k" * 32


@contextmanager
def cluster(config: dict[str, Any], context: dict[str, Any] | None = None) -> Iterator[Any]:
    """RPC as the operator (the identity the gateway would vouch for); ``context``, the
    proxy's context data when the caller adds to it (a write key per call)."""
    if context is None:
        context = operator_context(config)
    with ClusterRpcProxy(config, context_data=context, timeout=300) as proxy:
        yield proxy


def operator_context(config: dict[str, Any]) -> dict[str, Any]:
    """The context data of an RPC client calling as the operator."""
    return dict(identity_context(config, OPERATOR, "gateway"))


def id_number(serial: int) -> str:
    """A valid, unique resident ID number for volunteer ``serial``."""
    first17 = f"5101{serial:013d}"
    return first17 + id_check_digit(first17)


@dataclass
class District:
    communities: list[str] = field(default_factory=list)
    organisation_id: str = ""
    teams: list[str] = field(default_factory=list)
    volunteers: list[str] = field(default_factory=list)


def places(rpc: Any, streets: int, per_street: int, tag: str = "") -> District:
    """One district, ``streets`` streets and ``per_street`` communities in each, and a
    volunteer organisation."""
    tag = tag or uuid.uuid4().hex[:4].upper()
    district = District()
    top = rpc.registry.create_place({"code": f"D{tag}", "name": "郫都区", "level": "district"})
    for s in range(streets):
        street = rpc.registry.create_place(
            {"code": f"D{tag}-S{s}", "name": f"街道{s}", "level": "street", "parent_id": top["id"]}
        )
        for c in range(per_street):
            community = rpc.registry.create_place(
                {"code": f"D{tag}-S{s}-C{c}", "name": f"社区{s}-{c}", "level": "community", "parent_id": street["id"]}
            )
            district.communities.append(community["id"])
    district.organisation_id = rpc.registry.create_organisation(
        {"code": f"VOL-{tag}", "name": "郫都志愿者协会", "kind": "volunteer_organisation"}
    )["id"]
    return district


def volunteer_rows(start: int, count: int, communities: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": f"志愿者{i}",
            "id_number": id_number(i),
            "phone": f"139{i % 10**8:08d}",
            "community_id": communities[i % len(communities)],
            "skills": [SKILLS[i % len(SKILLS)], SKILLS[(i + 3) % len(SKILLS)]],
            "certifications": [{"kind": "certified_social_worker"}] if i % 50 == 0 else [],
            "party_member": i % 7 == 0,
        }
        for i in range(start, start + count)
    ]


def teams(rpc: Any, district: District, count: int, tag: str = "") -> list[str]:
    tag = tag or uuid.uuid4().hex[:4].upper()
    created = []
    for t in range(count):
        team = rpc.registry.create_team(
            {
                "code": f"T{tag}-{t}",
                "name": f"志愿服务队{t}",
                "organisation_id": district.organisation_id,
                "community_id": district.communities[t % len(district.communities)],
                "skills": [SKILLS[t % len(SKILLS)], SKILLS[(t + 2) % len(SKILLS)]],
                "professional": t % 7 == 0,
                "domain": "emergency_rescue" if t % 7 == 0 else None,
            }
        )
        created.append(team["id"])
    district.teams += created
    return created


def token(config: dict[str, Any]) -> str | None:
    """A bearer token for the gateway, once it checks them."""
    try:
        from services.roles import PERSON_ROLES
        from yilin.tokens import issue_token
    except ImportError:
        return None
    config = {**config, "JWT_SECRET": BENCH_SECRET}
    return issue_token(config, "operator", subject="bench-operator", ttl=3600, roles=PERSON_ROLES)
