"""The registry's operations on places, organisations, teams and service units: each
loads through the store, checks, writes through the store and emits its events. Inputs
arrive already validated by the schemas in :mod:`services.registry.schemas`."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy.orm import Session

from services.registry.models import Organisation, Place, ServiceUnit, Team
from services.registry.places import is_community, parent_problem
from services.registry.store import RegistryStore
from yilin.db import UnitOfWork
from yilin.errors import Conflict, InvalidInput, NotFound

MAX_SCAN = 5000  # teams scanned when filtering by skill


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def require_community(store: RegistryStore, ident: Any, field: str = "community_id") -> Place:
    place = store.place(ident, field)
    if not is_community(place.level):
        raise InvalidInput(
            f"{field} must be a community or village", {field: [f"is a {place.level}, not a community or village"]}
        )
    return place


def unique_code(store: RegistryStore, model: type, code: str) -> None:
    if store.code_taken(model, code):
        raise Conflict(f"code {code} is already taken", {"code": ["already exists"]})


def check_communities(store: RegistryStore, ids: Iterable[str], field: str = "covers") -> list[str]:
    """``ids`` sorted and distinct, each a community or village; otherwise a 4xx naming ``field``."""
    wanted = sorted({str(i) for i in ids})
    if not wanted:
        return []
    found = store.communities_among(wanted)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(
            f"{field} must name communities or villages", {field: [f"not a community: {', '.join(missing[:5])}"]}
        )
    return wanted


# -- places -------------------------------------------------------------------------
def place_view(place: Place) -> dict[str, Any]:
    return {"id": place.id, "code": place.code, "name": place.name, "level": place.level, "parent_id": place.parent_id}


def create_place(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    unique_code(store, Place, data["code"])
    parent_id = _str(data.get("parent_id"))
    parent = store.place(parent_id, "parent_id") if parent_id else None
    problem = parent_problem(data["level"], parent.level if parent else None)
    if problem:
        raise InvalidInput(problem, {"parent_id": [problem]})
    place = store.add_place(code=data["code"], name=data["name"], level=data["level"], parent_id=parent_id)
    uow.emit(
        "place.created", {"place_id": place.id, "code": place.code, "level": place.level, "parent_id": place.parent_id}
    )
    return place_view(place)


def list_places(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    return RegistryStore(session).list_places(query, lambda rows: [place_view(p) for p in rows])


# -- organisations ------------------------------------------------------------------
def organisation_view(org: Organisation, covers: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": org.id,
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "community_id": org.community_id,
        "services": list(org.services or []),
        "covers": covers or [],
        "district_wide": bool(org.district_wide),
    }


def create_organisation(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    unique_code(store, Organisation, data["code"])
    community_id = _str(data.get("community_id"))
    if community_id:
        require_community(store, community_id)
    covers = check_communities(store, data.get("covers") or [])
    org = store.add_organisation(
        code=data["code"],
        name=data["name"],
        kind=data["kind"],
        community_id=community_id,
        services=sorted(set(data.get("services") or [])),
        district_wide=data.get("district_wide", False),
    )
    store.declare_coverage(org.id, covers)
    uow.emit(
        "organisation.registered",
        {
            "organisation_id": org.id,
            "code": org.code,
            "kind": org.kind,
            "community_id": org.community_id,
            "services": org.services,
            "covers": covers,
            "district_wide": org.district_wide,
        },
    )
    return organisation_view(org, covers)


def list_organisations(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(session)

    def render(rows: Sequence[Organisation]) -> list[dict[str, Any]]:
        covers = store.covers_of([o.id for o in rows])
        return [organisation_view(o, covers[o.id]) for o in rows]

    return store.list_organisations(query, render)


# -- teams --------------------------------------------------------------------------
def team_view(team: Team, member_count: int | None = None, covers: list[str] | None = None) -> dict[str, Any]:
    view = {
        "id": team.id,
        "code": team.code,
        "name": team.name,
        "organisation_id": team.organisation_id,
        "community_id": team.community_id,
        "professional": team.professional,
        "domain": team.domain,
        "skills": list(team.skills or []),
        "covers": covers or [],
        "district_wide": bool(team.district_wide),
    }
    if member_count is not None:
        view["member_count"] = member_count
    return view


def create_team(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    unique_code(store, Team, data["code"])
    store.organisation(data["organisation_id"], "organisation_id")
    require_community(store, data["community_id"])
    home = str(data["community_id"])
    covers = [c for c in check_communities(store, data.get("covers") or []) if c != home]
    team = store.add_team(
        code=data["code"],
        name=data["name"],
        organisation_id=str(data["organisation_id"]),
        community_id=home,
        professional=data["professional"],
        domain=data.get("domain"),
        skills=sorted(set(data["skills"])),
        district_wide=data.get("district_wide", False),
    )
    store.declare_coverage(team.id, covers)
    uow.emit(
        "team.created",
        {
            "team_id": team.id,
            "code": team.code,
            "organisation_id": team.organisation_id,
            "community_id": team.community_id,
            "professional": team.professional,
            "domain": team.domain,
            "skills": team.skills,
            "covers": covers,
            "district_wide": team.district_wide,
        },
    )
    return team_view(team, 0, covers)


def get_team(session: Session, team_id: Any) -> dict[str, Any]:
    store = RegistryStore(session)
    team = store.team(team_id)
    return team_view(team, store.member_count(team.id), store.covers_of([team.id])[team.id])


def list_teams(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(session)
    rows_filter = query.get("skill")

    def render(rows: Sequence[Team]) -> list[dict[str, Any]]:
        covers = store.covers_of([t.id for t in rows])
        return [team_view(t, None, covers[t.id]) for t in rows]

    page = store.list_teams(query, MAX_SCAN if rows_filter else query["limit"], render)
    if rows_filter:  # skills are a short JSON list per team; 459 teams filter fine in Python
        items = [t for t in page["items"] if rows_filter in t["skills"]][: query["limit"]]
        page = {"items": items, "next_cursor": items[-1]["id"] if len(items) == query["limit"] else None}
    return page


def find_teams(session: Session, community_id: str, skill: str | None) -> list[dict[str, Any]]:
    """Teams serving ``community_id`` that have ``skill`` (any skill when ``None``), with
    their member counts, for dispatch."""
    store = RegistryStore(session)
    teams = store.teams_in(community_id)
    if skill:
        teams = [t for t in teams if skill in (t.skills or []) or t.domain == skill]
    counts = store.member_counts([t.id for t in teams])
    return [team_view(t, counts.get(t.id, 0)) for t in teams]


def team_members(session: Session, team_id: Any) -> list[dict[str, Any]]:
    """Members of a team with their role and status (no personal data)."""
    store = RegistryStore(session)
    store.team(team_id)
    rows = store.members_with_status(str(team_id))
    return [
        {
            "team_id": m.team_id,
            "volunteer_id": m.volunteer_id,
            "role": m.role,
            "joined_at": m.joined_at,
            "status": status,
        }
        for m, status in rows
    ]


def add_member(uow: UnitOfWork, team_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    team = store.team(team_id)
    volunteer = store.volunteer(data["volunteer_id"])
    if volunteer.status != "active":
        raise Conflict(f"volunteer is {volunteer.status}", {"volunteer_id": [f"is {volunteer.status}"]})
    if store.membership(team.id, volunteer.id) is not None:
        raise Conflict("already a member of this team", {"volunteer_id": ["already a member"]})
    membership = store.add_membership(team_id=team.id, volunteer_id=volunteer.id, role=data["role"])
    uow.emit("team.member_joined", {"team_id": team.id, "volunteer_id": volunteer.id, "role": membership.role})
    return {
        "team_id": team.id,
        "volunteer_id": volunteer.id,
        "role": membership.role,
        "joined_at": membership.joined_at,
    }


def remove_member(uow: UnitOfWork, team_id: Any, volunteer_id: Any) -> None:
    store = RegistryStore(uow.session)
    membership = store.membership(str(team_id), str(volunteer_id))
    if membership is None:
        raise NotFound("no such membership", {"volunteer_id": ["not a member of this team"]})
    store.remove_membership(membership)
    uow.emit("team.member_left", {"team_id": str(team_id), "volunteer_id": str(volunteer_id)})


# -- service units ------------------------------------------------------------------
def unit_view(unit: ServiceUnit, volunteer_ids: list[str]) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "community_id": unit.community_id,
        "sector_id": unit.sector_id,
        "agency_id": unit.agency_id,
        "volunteer_organisation_id": unit.volunteer_organisation_id,
        "volunteer_ids": volunteer_ids,
    }


UNIT_ROLES = {
    "sector_id": "government_sector",
    "agency_id": "social_work_agency",
    "volunteer_organisation_id": "volunteer_organisation",
}


def form_unit(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    require_community(store, data["community_id"])
    for field, kind in UNIT_ROLES.items():
        org = store.organisation(data[field], field)
        if org.kind != kind:
            raise InvalidInput(f"{field} must be a {kind}", {field: [f"is a {org.kind}"]})
    volunteer_ids = sorted({str(v) for v in data["volunteer_ids"]})
    found = store.active_among(volunteer_ids)
    missing = [v for v in volunteer_ids if v not in found]
    if missing:
        raise InvalidInput(
            "every volunteer must exist and be active",
            {"volunteer_ids": [f"unknown or inactive: {', '.join(missing[:5])}"]},
        )
    unit = store.add_unit(
        volunteer_ids,
        name=data["name"],
        community_id=str(data["community_id"]),
        sector_id=str(data["sector_id"]),
        agency_id=str(data["agency_id"]),
        volunteer_organisation_id=str(data["volunteer_organisation_id"]),
    )
    view = unit_view(unit, volunteer_ids)
    uow.emit(
        "unit.formed",
        {
            "unit_id": unit.id,
            **{
                k: view[k]
                for k in ("community_id", "sector_id", "agency_id", "volunteer_organisation_id", "volunteer_ids")
            },
        },
    )
    return view


def get_unit(session: Session, unit_id: Any) -> dict[str, Any]:
    store = RegistryStore(session)
    unit = store.unit(unit_id)
    return unit_view(unit, sorted(store.unit_volunteers(unit.id)))


def list_units(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(session)

    def render(rows: Sequence[ServiceUnit]) -> list[dict[str, Any]]:
        members: dict[str, list[str]] = {u.id: [] for u in rows}
        for unit_id, vid in store.volunteers_of_units(list(members)):
            members[unit_id].append(vid)
        return [unit_view(u, sorted(members[u.id])) for u in rows]

    return store.list_units(query, render)


def get_place(session: Session, place_id: Any) -> dict[str, Any]:
    return place_view(RegistryStore(session).place(place_id, "place_id"))


def get_organisation(session: Session, org_id: Any) -> dict[str, Any]:
    return organisation_view(RegistryStore(session).organisation(org_id, "organisation_id"))
