"""The registry's rules, as plain functions over a unit of work. Inputs arrive already
validated by the schemas in :mod:`services.registry.schemas`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Iterable, Sequence

from sqlalchemy import Select, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from services.registry import coverage
from services.registry.models import (Certification, Membership, Organisation, Place, ServiceUnit, Team,
                                      UnitVolunteer, Volunteer, VolunteerSkill, utcnow)
from services.registry.places import COMMUNITY_LEVELS, is_community, parent_problem
from services.registry.schemas import VolunteerIn
from yilin.db import UnitOfWork
from yilin.bulk import insert_rows
from yilin.errors import Conflict, InvalidInput, NotFound, load_each
from yilin.paging import paginate
from yilin.pii import PersonalData, canonical_id_number, mask_id_number, mask_phone
from yilin.sqljson import json_array_agg, json_object

MAX_SCAN = 5000  # teams scanned when filtering by skill
VOLUNTEER_ROWS = VolunteerIn(many=True)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _get(session: Session, model: type, ident: Any, field: str) -> Any:
    row = session.get(model, str(ident))
    if row is None:
        raise NotFound(f"{model.__tablename__[:-1]} {ident} does not exist", {field: ["not found"]})
    return row


def _require_community(session: Session, ident: Any, field: str = "community_id") -> Place:
    place = _get(session, Place, ident, field)
    if not is_community(place.level):
        raise InvalidInput(f"{field} must be a community or village",
                           {field: [f"is a {place.level}, not a community or village"]})
    return place


def _unique_code(session: Session, model: type, code: str) -> None:
    if session.scalar(select(model.id).where(model.code == code)) is not None:
        raise Conflict(f"code {code} is already taken", {"code": ["already exists"]})


# -- places -------------------------------------------------------------------------
def place_view(place: Place) -> dict[str, Any]:
    return {"id": place.id, "code": place.code, "name": place.name, "level": place.level, "parent_id": place.parent_id}


def create_place(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    _unique_code(session, Place, data["code"])
    parent_id = _str(data.get("parent_id"))
    parent = _get(session, Place, parent_id, "parent_id") if parent_id else None
    problem = parent_problem(data["level"], parent.level if parent else None)
    if problem:
        raise InvalidInput(problem, {"parent_id": [problem]})
    place = Place(code=data["code"], name=data["name"], level=data["level"], parent_id=parent_id)
    session.add(place)
    session.flush()
    uow.emit("place.created", {"place_id": place.id, "code": place.code, "level": place.level,
                               "parent_id": place.parent_id})
    return place_view(place)


def list_places(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Place)
    if query.get("level"):
        stmt = stmt.where(Place.level == query["level"])
    if query.get("parent_id"):
        stmt = stmt.where(Place.parent_id == str(query["parent_id"]))
    return paginate(session, stmt, Place.id, query["limit"], query.get("cursor"),
                    lambda rows: [place_view(p) for p in rows])


# -- organisations ------------------------------------------------------------------
def organisation_view(org: Organisation, covers: list[str] | None = None) -> dict[str, Any]:
    return {"id": org.id, "code": org.code, "name": org.name, "kind": org.kind, "community_id": org.community_id,
            "services": list(org.services or []), "covers": covers or [], "district_wide": bool(org.district_wide)}


def create_organisation(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    _unique_code(session, Organisation, data["code"])
    community_id = _str(data.get("community_id"))
    if community_id:
        _require_community(session, community_id)
    covers = coverage.check_communities(session, data.get("covers") or [])
    org = Organisation(code=data["code"], name=data["name"], kind=data["kind"], community_id=community_id,
                       services=sorted(set(data.get("services") or [])), district_wide=data.get("district_wide", False))
    session.add(org)
    session.flush()
    coverage.declare(session, org.id, covers)
    uow.emit("organisation.registered", {"organisation_id": org.id, "code": org.code, "kind": org.kind,
                                         "community_id": org.community_id, "services": org.services,
                                         "covers": covers, "district_wide": org.district_wide})
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
    view = {"id": team.id, "code": team.code, "name": team.name, "organisation_id": team.organisation_id,
            "community_id": team.community_id, "professional": team.professional, "domain": team.domain,
            "skills": list(team.skills or []), "covers": covers or [], "district_wide": bool(team.district_wide)}
    if member_count is not None:
        view["member_count"] = member_count
    return view


def create_team(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    _unique_code(session, Team, data["code"])
    _get(session, Organisation, data["organisation_id"], "organisation_id")
    _require_community(session, data["community_id"])
    team = Team(code=data["code"], name=data["name"], organisation_id=str(data["organisation_id"]),
                community_id=str(data["community_id"]), professional=data["professional"],
                domain=data.get("domain"), skills=sorted(set(data["skills"])),
                district_wide=data.get("district_wide", False))
    covers = [c for c in coverage.check_communities(session, data.get("covers") or []) if c != team.community_id]
    session.add(team)
    session.flush()
    coverage.declare(session, team.id, covers)
    uow.emit("team.created", {"team_id": team.id, "code": team.code, "organisation_id": team.organisation_id,
                              "community_id": team.community_id, "professional": team.professional,
                              "domain": team.domain, "skills": team.skills, "covers": covers,
                              "district_wide": team.district_wide})
    return team_view(team, 0, covers)


def get_team(session: Session, team_id: Any) -> dict[str, Any]:
    team = _get(session, Team, team_id, "team_id")
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
    counts = dict(session.execute(
        select(Membership.team_id, func.count()).where(Membership.team_id.in_([t.id for t in teams]))
        .group_by(Membership.team_id)).all()) if teams else {}
    return [team_view(t, counts.get(t.id, 0)) for t in teams]


def team_members(session: Session, team_id: Any) -> list[dict[str, Any]]:
    """Members of a team with their role and status (no personal data)."""
    _get(session, Team, team_id, "team_id")
    rows = session.execute(
        select(Membership, Volunteer.status).join(Volunteer, Volunteer.id == Membership.volunteer_id)
        .where(Membership.team_id == str(team_id)).order_by(Membership.joined_at)).all()
    return [{"team_id": m.team_id, "volunteer_id": m.volunteer_id, "role": m.role, "joined_at": m.joined_at,
             "status": status} for m, status in rows]


def add_member(uow: UnitOfWork, team_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    team = _get(session, Team, team_id, "team_id")
    volunteer = _get(session, Volunteer, data["volunteer_id"], "volunteer_id")
    if volunteer.status != "active":
        raise Conflict(f"volunteer is {volunteer.status}", {"volunteer_id": [f"is {volunteer.status}"]})
    if session.get(Membership, (team.id, volunteer.id)) is not None:
        raise Conflict("already a member of this team", {"volunteer_id": ["already a member"]})
    membership = Membership(team_id=team.id, volunteer_id=volunteer.id, role=data["role"])
    session.add(membership)
    session.flush()
    uow.emit("team.member_joined", {"team_id": team.id, "volunteer_id": volunteer.id, "role": membership.role})
    return {"team_id": team.id, "volunteer_id": volunteer.id, "role": membership.role,
            "joined_at": membership.joined_at}


def remove_member(uow: UnitOfWork, team_id: Any, volunteer_id: Any) -> None:
    session = uow.session
    membership = session.get(Membership, (str(team_id), str(volunteer_id)))
    if membership is None:
        raise NotFound("no such membership", {"volunteer_id": ["not a member of this team"]})
    session.delete(membership)
    uow.emit("team.member_left", {"team_id": str(team_id), "volunteer_id": str(volunteer_id)})


# -- volunteers ---------------------------------------------------------------------
def volunteer_view(session: Session, volunteer: Volunteer) -> dict[str, Any]:
    return volunteer_views(session, [volunteer])[0]


def volunteer_views(session: Session, volunteers: Sequence[Volunteer]) -> list[dict[str, Any]]:
    """Views of many volunteers, in their order, with one query in all."""
    if not volunteers:
        return []
    session.flush()  # the statement runs on the connection, where unflushed changes are not seen
    rows = session.connection().execute(_VIEWS_BY_IDS, {"ids": [v.id for v in volunteers]})
    by_id = {view["id"]: view for view in map(_view, rows)}
    return [by_id[v.id] for v in volunteers]


def volunteer_view_by_id(session: Session, volunteer_id: Any) -> dict[str, Any]:
    """One volunteer's view: a single statement (a read is one round trip)."""
    row = session.connection().execute(_VIEW_BY_ID, {"volunteer_id": str(volunteer_id)}).first()
    if row is None:
        raise NotFound(f"volunteer {volunteer_id} does not exist", {"volunteer_id": ["not found"]})
    return _view(row)


def _view_select() -> Select[Any]:
    # Skills, certifications and teams come back as JSON arrays from correlated subqueries.
    skills = select(json_array_agg(VolunteerSkill.skill)).where(VolunteerSkill.volunteer_id == Volunteer.id)
    certs = select(json_array_agg(json_object(kind=Certification.kind, number=Certification.number,
                                              issued_on=Certification.issued_on))
                   ).where(Certification.volunteer_id == Volunteer.id)
    teams = select(json_array_agg(Membership.team_id)).where(Membership.volunteer_id == Volunteer.id)
    return select(
        Volunteer.id, Volunteer.number, Volunteer.name, Volunteer.id_number_masked, Volunteer.phone_masked,
        Volunteer.community_id, Volunteer.party_member, Volunteer.status, Volunteer.created_at,
        skills.scalar_subquery().label("skills"), certs.scalar_subquery().label("certifications"),
        teams.scalar_subquery().label("team_ids"),
    )


# Built once: constructing a statement (and its cache key) costs several times its execution.
# They return plain rows, so they run on the session's connection, past the ORM's layer.
_VIEW_BY_ID = _view_select().where(Volunteer.id == bindparam("volunteer_id"))
_VIEWS_BY_IDS = _view_select().where(Volunteer.id.in_(bindparam("ids", expanding=True)))


def _view(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "number": r.number, "name": r.name, "id_number": r.id_number_masked, "phone": r.phone_masked,
        "community_id": r.community_id, "skills": sorted(r.skills or ()),
        "certifications": [{"kind": c["kind"], "number": c["number"], "issued_on": _date(c["issued_on"])}
                           for c in r.certifications or ()],
        "party_member": r.party_member, "status": r.status, "team_ids": sorted(r.team_ids or ()),
        "created_at": r.created_at,
    }


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _registered_event(volunteer: dict[str, Any], skills: Iterable[str],
                      certifications: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"volunteer_id": volunteer["id"], "volunteer_number": volunteer["number"],
            "community_id": volunteer["community_id"], "skills": sorted(set(skills)),
            "certifications": sorted({c["kind"] for c in certifications}), "status": volunteer["status"]}


def _volunteer_columns(pii: PersonalData, data: dict[str, Any], fingerprint: str | None = None) -> dict[str, Any]:
    """A new volunteer's row (timestamps aside), personal data encrypted and masked."""
    id_number = canonical_id_number(data["id_number"])
    phone = data.get("phone")
    ident = str(uuid.uuid4())
    return {
        "id": ident, "number": "YL" + ident.replace("-", "")[:10].upper(), "name": data["name"],
        "id_number_hash": fingerprint or pii.fingerprint(id_number), "id_number_masked": mask_id_number(id_number),
        "id_number_encrypted": pii.encrypt(id_number),
        "phone_masked": mask_phone(phone) if phone else None, "phone_encrypted": pii.encrypt(phone) if phone else None,
        "party_member": data["party_member"], "community_id": str(data["community_id"]), "status": "active",
    }


def register_volunteer(uow: UnitOfWork, pii: PersonalData, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    _require_community(session, data["community_id"])
    if session.scalar(select(Volunteer.id).where(
            Volunteer.id_number_hash == pii.fingerprint(data["id_number"]))) is not None:
        raise Conflict("a volunteer with this ID number is already registered", {"id_number": ["already registered"]})
    columns = _volunteer_columns(pii, data)
    volunteer = Volunteer(**columns)
    session.add(volunteer)
    session.flush()
    _write_skills(session, volunteer.id, data["skills"], data["certifications"])
    uow.emit("volunteer.registered", _registered_event(columns, data["skills"], data["certifications"]))
    return volunteer_view(session, volunteer)


def _write_skills(session: Session, volunteer_id: str, skills: Iterable[str] | None,
                  certifications: Iterable[dict[str, Any]] | None) -> None:
    if skills is not None:
        session.execute(delete(VolunteerSkill).where(VolunteerSkill.volunteer_id == volunteer_id))
        rows = [{"volunteer_id": volunteer_id, "skill": s} for s in sorted(set(skills))]
        if rows:
            session.execute(insert(VolunteerSkill), rows)
    if certifications is not None:
        session.execute(delete(Certification).where(Certification.volunteer_id == volunteer_id))
        rows = [{"id": str(uuid.uuid4()), "volunteer_id": volunteer_id, **c} for c in certifications]
        if rows:
            session.execute(insert(Certification), rows)


def get_volunteer(session: Session, volunteer_id: Any) -> dict[str, Any]:
    return volunteer_view_by_id(session, volunteer_id)


def update_volunteer(uow: UnitOfWork, pii: PersonalData, volunteer_id: Any, patch: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    volunteer = _get(session, Volunteer, volunteer_id, "volunteer_id")
    if not patch:
        raise InvalidInput("nothing to change", {"_schema": ["give at least one field"]})
    if "community_id" in patch:
        _require_community(session, patch["community_id"])
        volunteer.community_id = str(patch["community_id"])
    if "name" in patch:
        volunteer.name = patch["name"]
    if "phone" in patch:
        phone = patch["phone"]
        volunteer.phone_masked = mask_phone(phone) if phone else None
        volunteer.phone_encrypted = pii.encrypt(phone) if phone else None
    if "party_member" in patch:
        volunteer.party_member = patch["party_member"]
    was_active = volunteer.status == "active"
    if "status" in patch:
        volunteer.status = patch["status"]
    _write_skills(session, volunteer.id, patch.get("skills"), patch.get("certifications"))
    session.flush()
    view = volunteer_view(session, volunteer)
    uow.emit("volunteer.updated", {"volunteer_id": volunteer.id, "changed": sorted(patch),
                                   "community_id": volunteer.community_id, "skills": view["skills"],
                                   "status": volunteer.status})
    if was_active and volunteer.status != "active":
        uow.emit("volunteer.deactivated", {"volunteer_id": volunteer.id, "status": volunteer.status})
    return view


def list_volunteers(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Volunteer)
    if query.get("community_id"):
        stmt = stmt.where(Volunteer.community_id == str(query["community_id"]))
    if query.get("status"):
        stmt = stmt.where(Volunteer.status == query["status"])
    if query.get("skill"):
        stmt = stmt.where(Volunteer.id.in_(select(VolunteerSkill.volunteer_id).where(VolunteerSkill.skill == query["skill"])))
    if query.get("team_id"):
        stmt = stmt.where(Volunteer.id.in_(select(Membership.volunteer_id).where(Membership.team_id == str(query["team_id"]))))
    return paginate(session, stmt, Volunteer.id, query["limit"], query.get("cursor"),
                    lambda rows: volunteer_views(session, rows))


def import_volunteers(uow: UnitOfWork, pii: PersonalData, rows: Any) -> dict[str, Any]:
    """Register a batch; rows that fail validation are reported, not fatal, and a row
    whose ID number is already registered counts as a duplicate (re-running an import
    is safe). Set-based: one validation pass, one lookup of known ID numbers per 1,000
    and one insert per table, whatever the batch size."""
    if not isinstance(rows, list):
        raise InvalidInput("rows must be a list of volunteer records", {"rows": ["expected a list"]})
    session = uow.session
    loaded, errors = load_each(VOLUNTEER_ROWS, rows)
    rejected = [{"row": index, "fields": fields} for index, fields in errors.items()]
    communities = set(session.scalars(select(Place.id).where(Place.level.in_(COMMUNITY_LEVELS))))
    accepted: dict[str, dict[str, Any]] = {}  # by ID-number fingerprint: the first row of a person wins
    for index, data in loaded.items():
        if str(data["community_id"]) not in communities:
            rejected.append({"row": index, "fields": {"community_id": ["no such community"]}})
            continue
        accepted.setdefault(pii.fingerprint(data["id_number"]), data)
    existing: set[str] = set()
    hashes = list(accepted)
    for chunk in range(0, len(hashes), 1000):
        existing |= set(session.scalars(select(Volunteer.id_number_hash)
                                        .where(Volunteer.id_number_hash.in_(hashes[chunk:chunk + 1000]))))
    now = utcnow()
    fresh = [(_volunteer_columns(pii, data, fingerprint), data)
             for fingerprint, data in accepted.items() if fingerprint not in existing]
    insert_rows(session, Volunteer.__table__, [volunteer for volunteer, _ in fresh],
                same={"created_at": now, "updated_at": now})
    insert_rows(session, VolunteerSkill.__table__, [{"volunteer_id": v["id"], "skill": skill}
                                                    for v, data in fresh for skill in sorted(set(data["skills"]))])
    insert_rows(session, Certification.__table__, [
        {"id": str(uuid.uuid4()), "volunteer_id": v["id"], "kind": c["kind"], "number": c.get("number"),
         "issued_on": c.get("issued_on")} for v, data in fresh for c in data["certifications"]])
    for volunteer, data in fresh:
        uow.emit("volunteer.registered", _registered_event(volunteer, data["skills"], data["certifications"]))
    rejected.sort(key=lambda r: r["row"])
    return {"created": len(fresh), "duplicates": len(rows) - len(rejected) - len(fresh), "rejected": rejected}


# -- service units ------------------------------------------------------------------
def unit_view(unit: ServiceUnit, volunteer_ids: list[str]) -> dict[str, Any]:
    return {"id": unit.id, "name": unit.name, "community_id": unit.community_id, "sector_id": unit.sector_id,
            "agency_id": unit.agency_id, "volunteer_organisation_id": unit.volunteer_organisation_id,
            "volunteer_ids": volunteer_ids}


UNIT_ROLES = {"sector_id": "government_sector", "agency_id": "social_work_agency",
              "volunteer_organisation_id": "volunteer_organisation"}


def form_unit(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    _require_community(session, data["community_id"])
    for field, kind in UNIT_ROLES.items():
        org = _get(session, Organisation, data[field], field)
        if org.kind != kind:
            raise InvalidInput(f"{field} must be a {kind}", {field: [f"is a {org.kind}"]})
    volunteer_ids = sorted({str(v) for v in data["volunteer_ids"]})
    found = set(session.scalars(select(Volunteer.id).where(Volunteer.id.in_(volunteer_ids), Volunteer.status == "active")))
    missing = [v for v in volunteer_ids if v not in found]
    if missing:
        raise InvalidInput("every volunteer must exist and be active", {"volunteer_ids": [f"unknown or inactive: {', '.join(missing[:5])}"]})
    unit = ServiceUnit(name=data["name"], community_id=str(data["community_id"]), sector_id=str(data["sector_id"]),
                       agency_id=str(data["agency_id"]), volunteer_organisation_id=str(data["volunteer_organisation_id"]))
    session.add(unit)
    session.flush()
    session.execute(insert(UnitVolunteer), [{"unit_id": unit.id, "volunteer_id": v} for v in volunteer_ids])
    view = unit_view(unit, volunteer_ids)
    uow.emit("unit.formed", {"unit_id": unit.id, **{k: view[k] for k in (
        "community_id", "sector_id", "agency_id", "volunteer_organisation_id", "volunteer_ids")}})
    return view


def get_unit(session: Session, unit_id: Any) -> dict[str, Any]:
    unit = _get(session, ServiceUnit, unit_id, "unit_id")
    ids = list(session.scalars(select(UnitVolunteer.volunteer_id).where(UnitVolunteer.unit_id == unit.id)))
    return unit_view(unit, sorted(ids))


def list_units(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(ServiceUnit)
    if query.get("community_id"):
        stmt = stmt.where(ServiceUnit.community_id == str(query["community_id"]))

    def render(rows: Sequence[ServiceUnit]) -> list[dict[str, Any]]:
        members: dict[str, list[str]] = {u.id: [] for u in rows}
        for unit_id, vid in session.execute(select(UnitVolunteer.unit_id, UnitVolunteer.volunteer_id)
                                            .where(UnitVolunteer.unit_id.in_(list(members)))):
            members[unit_id].append(vid)
        return [unit_view(u, sorted(members[u.id])) for u in rows]

    return paginate(session, stmt, ServiceUnit.id, query["limit"], query.get("cursor"), render)


def get_place(session: Session, place_id: Any) -> dict[str, Any]:
    return place_view(_get(session, Place, place_id, "place_id"))


def get_organisation(session: Session, org_id: Any) -> dict[str, Any]:
    return organisation_view(_get(session, Organisation, org_id, "organisation_id"))
