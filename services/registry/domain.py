"""The registry's rules, as plain functions over a unit of work. Inputs arrive already
validated by the schemas in :mod:`services.registry.schemas`."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from services.registry import coverage
from services.registry.models import Membership, Organisation, Place, ServiceUnit, Team, UnitVolunteer, Volunteer
from services.registry.places import is_community, parent_problem
from yilin.db import UnitOfWork
from yilin.errors import Conflict, InvalidInput, NotFound
from yilin.paging import paginate
from yilin.rows import get_or_404

MAX_SCAN = 5000  # teams scanned when filtering by skill


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def require_community(session: Session, ident: Any, field: str = "community_id") -> Place:
    place = get_or_404(session, Place, ident, field)
    if not is_community(place.level):
        raise InvalidInput(
            f"{field} must be a community or village", {field: [f"is a {place.level}, not a community or village"]}
        )
    return place


def unique_code(session: Session, model: type, code: str) -> None:
    if session.scalar(select(model.id).where(model.code == code)) is not None:
        raise Conflict(f"code {code} is already taken", {"code": ["already exists"]})


# -- places -------------------------------------------------------------------------
def place_view(place: Place) -> dict[str, Any]:
    return {"id": place.id, "code": place.code, "name": place.name, "level": place.level, "parent_id": place.parent_id}


def create_place(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    unique_code(session, Place, data["code"])
    parent_id = _str(data.get("parent_id"))
    parent = get_or_404(session, Place, parent_id, "parent_id") if parent_id else None
    problem = parent_problem(data["level"], parent.level if parent else None)
    if problem:
        raise InvalidInput(problem, {"parent_id": [problem]})
    place = Place(code=data["code"], name=data["name"], level=data["level"], parent_id=parent_id)
    session.add(place)
    session.flush()
    uow.emit(
        "place.created", {"place_id": place.id, "code": place.code, "level": place.level, "parent_id": place.parent_id}
    )
    return place_view(place)


def list_places(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Place)
    if query.get("level"):
        stmt = stmt.where(Place.level == query["level"])
    if query.get("parent_id"):
        stmt = stmt.where(Place.parent_id == str(query["parent_id"]))
    return paginate(
        session, stmt, Place.id, query["limit"], query.get("cursor"), lambda rows: [place_view(p) for p in rows]
    )


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
    session = uow.session
    unique_code(session, Organisation, data["code"])
    community_id = _str(data.get("community_id"))
    if community_id:
        require_community(session, community_id)
    covers = coverage.check_communities(session, data.get("covers") or [])
    org = Organisation(
        code=data["code"],
        name=data["name"],
        kind=data["kind"],
        community_id=community_id,
        services=sorted(set(data.get("services") or [])),
        district_wide=data.get("district_wide", False),
    )
    session.add(org)
    session.flush()
    coverage.declare(session, org.id, covers)
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
    stmt = select(Organisation)
    if query.get("kind"):
        stmt = stmt.where(Organisation.kind == query["kind"])
    if query.get("community_id"):
        stmt = stmt.where(Organisation.community_id == str(query["community_id"]))

    def render(rows: Sequence[Organisation]) -> list[dict[str, Any]]:
        covers = coverage.covers_of(session, [o.id for o in rows])
        return [organisation_view(o, covers[o.id]) for o in rows]

    return paginate(session, stmt, Organisation.id, query["limit"], query.get("cursor"), render)


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
    session = uow.session
    unique_code(session, Team, data["code"])
    get_or_404(session, Organisation, data["organisation_id"], "organisation_id")
    require_community(session, data["community_id"])
    team = Team(
        code=data["code"],
        name=data["name"],
        organisation_id=str(data["organisation_id"]),
        community_id=str(data["community_id"]),
        professional=data["professional"],
        domain=data.get("domain"),
        skills=sorted(set(data["skills"])),
        district_wide=data.get("district_wide", False),
    )
    covers = [c for c in coverage.check_communities(session, data.get("covers") or []) if c != team.community_id]
    session.add(team)
    session.flush()
    coverage.declare(session, team.id, covers)
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
    team = get_or_404(session, Team, team_id, "team_id")
    count = session.scalar(select(func.count()).select_from(Membership).where(Membership.team_id == team.id))
    return team_view(team, count or 0, coverage.covers_of(session, [team.id])[team.id])


def list_teams(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Team)
    for key in ("community_id", "organisation_id"):
        if query.get(key):
            stmt = stmt.where(getattr(Team, key) == str(query[key]))
    if query.get("professional") is not None:
        stmt = stmt.where(Team.professional == query["professional"])
    rows_filter = query.get("skill")

    def render(rows: Sequence[Team]) -> list[dict[str, Any]]:
        covers = coverage.covers_of(session, [t.id for t in rows])
        return [team_view(t, None, covers[t.id]) for t in rows]

    page = paginate(session, stmt, Team.id, MAX_SCAN if rows_filter else query["limit"], query.get("cursor"), render)
    if rows_filter:  # skills are a short JSON list per team; 459 teams filter fine in Python
        items = [t for t in page["items"] if rows_filter in t["skills"]][: query["limit"]]
        page = {"items": items, "next_cursor": items[-1]["id"] if len(items) == query["limit"] else None}
    return page


def find_teams(session: Session, community_id: str, skill: str | None) -> list[dict[str, Any]]:
    """Teams serving ``community_id`` that have ``skill`` (any skill when ``None``), with
    their member counts, for dispatch."""
    teams = session.scalars(select(Team).where(Team.community_id == community_id).order_by(Team.code)).all()
    if skill:
        teams = [t for t in teams if skill in (t.skills or []) or t.domain == skill]
    counts = (
        dict(
            session.execute(
                select(Membership.team_id, func.count())
                .where(Membership.team_id.in_([t.id for t in teams]))
                .group_by(Membership.team_id)
            ).all()
        )
        if teams
        else {}
    )
    return [team_view(t, counts.get(t.id, 0)) for t in teams]


def team_members(session: Session, team_id: Any) -> list[dict[str, Any]]:
    """Members of a team with their role and status (no personal data)."""
    get_or_404(session, Team, team_id, "team_id")
    rows = session.execute(
        select(Membership, Volunteer.status)
        .join(Volunteer, Volunteer.id == Membership.volunteer_id)
        .where(Membership.team_id == str(team_id))
        .order_by(Membership.joined_at)
    ).all()
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
    session = uow.session
    team = get_or_404(session, Team, team_id, "team_id")
    volunteer = get_or_404(session, Volunteer, data["volunteer_id"], "volunteer_id")
    if volunteer.status != "active":
        raise Conflict(f"volunteer is {volunteer.status}", {"volunteer_id": [f"is {volunteer.status}"]})
    if session.get(Membership, (team.id, volunteer.id)) is not None:
        raise Conflict("already a member of this team", {"volunteer_id": ["already a member"]})
    membership = Membership(team_id=team.id, volunteer_id=volunteer.id, role=data["role"])
    session.add(membership)
    session.flush()
    uow.emit("team.member_joined", {"team_id": team.id, "volunteer_id": volunteer.id, "role": membership.role})
    return {
        "team_id": team.id,
        "volunteer_id": volunteer.id,
        "role": membership.role,
        "joined_at": membership.joined_at,
    }


def remove_member(uow: UnitOfWork, team_id: Any, volunteer_id: Any) -> None:
    session = uow.session
    membership = session.get(Membership, (str(team_id), str(volunteer_id)))
    if membership is None:
        raise NotFound("no such membership", {"volunteer_id": ["not a member of this team"]})
    session.delete(membership)
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
    session = uow.session
    require_community(session, data["community_id"])
    for field, kind in UNIT_ROLES.items():
        org = get_or_404(session, Organisation, data[field], field)
        if org.kind != kind:
            raise InvalidInput(f"{field} must be a {kind}", {field: [f"is a {org.kind}"]})
    volunteer_ids = sorted({str(v) for v in data["volunteer_ids"]})
    found = set(
        session.scalars(select(Volunteer.id).where(Volunteer.id.in_(volunteer_ids), Volunteer.status == "active"))
    )
    missing = [v for v in volunteer_ids if v not in found]
    if missing:
        raise InvalidInput(
            "every volunteer must exist and be active",
            {"volunteer_ids": [f"unknown or inactive: {', '.join(missing[:5])}"]},
        )
    unit = ServiceUnit(
        name=data["name"],
        community_id=str(data["community_id"]),
        sector_id=str(data["sector_id"]),
        agency_id=str(data["agency_id"]),
        volunteer_organisation_id=str(data["volunteer_organisation_id"]),
    )
    session.add(unit)
    session.flush()
    session.execute(insert(UnitVolunteer), [{"unit_id": unit.id, "volunteer_id": v} for v in volunteer_ids])
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
    unit = get_or_404(session, ServiceUnit, unit_id, "unit_id")
    ids = list(session.scalars(select(UnitVolunteer.volunteer_id).where(UnitVolunteer.unit_id == unit.id)))
    return unit_view(unit, sorted(ids))


def list_units(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(ServiceUnit)
    if query.get("community_id"):
        stmt = stmt.where(ServiceUnit.community_id == str(query["community_id"]))

    def render(rows: Sequence[ServiceUnit]) -> list[dict[str, Any]]:
        members: dict[str, list[str]] = {u.id: [] for u in rows}
        for unit_id, vid in session.execute(
            select(UnitVolunteer.unit_id, UnitVolunteer.volunteer_id).where(UnitVolunteer.unit_id.in_(list(members)))
        ):
            members[unit_id].append(vid)
        return [unit_view(u, sorted(members[u.id])) for u in rows]

    return paginate(session, stmt, ServiceUnit.id, query["limit"], query.get("cursor"), render)


def get_place(session: Session, place_id: Any) -> dict[str, Any]:
    return place_view(get_or_404(session, Place, place_id, "place_id"))


def get_organisation(session: Session, org_id: Any) -> dict[str, Any]:
    return organisation_view(get_or_404(session, Organisation, org_id, "organisation_id"))
