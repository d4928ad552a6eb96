"""The registry's volunteers: registration, updates, the bulk import, and the views other
services read. Inputs arrive already validated by the schemas in
:mod:`services.registry.schemas`; personal identifiers are stored encrypted and hashed."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Iterable, Sequence

from sqlalchemy import Select, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from services.registry.domain import require_community
from services.registry.id_numbers import canonical_id_number, mask_id_number
from services.registry.models import (
    Certification,
    Membership,
    Organisation,
    Place,
    Volunteer,
    VolunteerSkill,
    utcnow,
)
from services.registry.places import COMMUNITY_LEVELS
from services.registry.schemas import VolunteerIn
from yilin.bulk import insert_rows, stored
from yilin.db import UnitOfWork
from yilin.errors import Conflict, InvalidInput, NotFound, load_each
from yilin.etags import Precondition, no_precondition
from yilin.paging import paginate
from yilin.pii import PersonalData, mask_phone
from yilin.rows import get_or_404, lock_or_404
from yilin.sqljson import json_array_agg, json_object

VOLUNTEER_ROWS = VolunteerIn(many=True)


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
    certs = select(
        json_array_agg(
            json_object(kind=Certification.kind, number=Certification.number, issued_on=Certification.issued_on)
        )
    ).where(Certification.volunteer_id == Volunteer.id)
    teams = select(json_array_agg(Membership.team_id)).where(Membership.volunteer_id == Volunteer.id)
    return select(
        Volunteer.id,
        Volunteer.number,
        Volunteer.name,
        Volunteer.id_number_masked,
        Volunteer.phone_masked,
        Volunteer.community_id,
        Volunteer.organisation_id,
        Volunteer.party_member,
        Volunteer.status,
        Volunteer.created_at,
        skills.scalar_subquery().label("skills"),
        certs.scalar_subquery().label("certifications"),
        teams.scalar_subquery().label("team_ids"),
    )


# Built once: constructing a statement (and its cache key) costs several times its execution.
# They return plain rows, so they run on the session's connection, past the ORM's layer.
_VIEW_BY_ID = _view_select().where(Volunteer.id == bindparam("volunteer_id"))
_VIEWS_BY_IDS = _view_select().where(Volunteer.id.in_(bindparam("ids", expanding=True)))


def _view(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "number": r.number,
        "name": r.name,
        "id_number": r.id_number_masked,
        "phone": r.phone_masked,
        "community_id": r.community_id,
        "organisation_id": r.organisation_id,
        "skills": sorted(r.skills or ()),
        "certifications": [
            {"kind": c["kind"], "number": c["number"], "issued_on": _date(c["issued_on"])}
            for c in r.certifications or ()
        ],
        "party_member": r.party_member,
        "status": r.status,
        "team_ids": sorted(r.team_ids or ()),
        "created_at": r.created_at,
    }


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _registered_event(
    volunteer: dict[str, Any], skills: Iterable[str], certifications: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "volunteer_id": volunteer["id"],
        "volunteer_number": volunteer["number"],
        "community_id": volunteer["community_id"],
        "skills": sorted(set(skills)),
        "certifications": sorted({c["kind"] for c in certifications}),
        "status": volunteer["status"],
    }


def _volunteer_columns(pii: PersonalData, data: dict[str, Any], fingerprint: str | None = None) -> dict[str, Any]:
    """A new volunteer's row (timestamps aside), personal data encrypted and masked."""
    id_number = canonical_id_number(data["id_number"])
    phone = data.get("phone")
    ident = str(uuid.uuid4())
    return {
        "id": ident,
        "number": "YL" + ident.replace("-", "")[:10].upper(),
        "name": data["name"],
        "id_number_hash": fingerprint or pii.fingerprint(id_number),
        "id_number_masked": mask_id_number(id_number),
        "id_number_encrypted": pii.encrypt(id_number),
        "phone_masked": mask_phone(phone) if phone else None,
        "phone_encrypted": pii.encrypt(phone) if phone else None,
        "party_member": data["party_member"],
        "community_id": str(data["community_id"]),
        "organisation_id": str(data["organisation_id"]) if data.get("organisation_id") else None,
        "status": "active",
    }


def register_volunteer(uow: UnitOfWork, pii: PersonalData, data: dict[str, Any]) -> dict[str, Any]:
    session = uow.session
    require_community(session, data["community_id"])
    if data.get("organisation_id"):
        get_or_404(session, Organisation, data["organisation_id"], "organisation_id")
    # every key's fingerprint: during a key rotation a duplicate may still carry an old one
    fingerprints = pii.fingerprints(canonical_id_number(data["id_number"]))
    if session.scalar(select(Volunteer.id).where(Volunteer.id_number_hash.in_(fingerprints)).limit(1)) is not None:
        raise Conflict("a volunteer with this ID number is already registered", {"id_number": ["already registered"]})
    columns = _volunteer_columns(pii, data)
    volunteer = Volunteer(**columns)
    session.add(volunteer)
    session.flush()
    _write_skills(session, volunteer.id, data["skills"], data["certifications"])
    uow.emit("volunteer.registered", _registered_event(columns, data["skills"], data["certifications"]))
    return volunteer_view(session, volunteer)


def _write_skills(
    session: Session, volunteer_id: str, skills: Iterable[str] | None, certifications: Iterable[dict[str, Any]] | None
) -> None:
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


def update_volunteer(
    uow: UnitOfWork,
    pii: PersonalData,
    volunteer_id: Any,
    patch: dict[str, Any],
    precondition: Precondition = no_precondition,
) -> dict[str, Any]:
    session = uow.session
    volunteer = lock_or_404(session, Volunteer, volunteer_id, "volunteer_id")
    precondition(volunteer_view(session, volunteer))  # under the lock: a concurrent update waits
    if not patch:
        raise InvalidInput("nothing to change", {"_schema": ["give at least one field"]})
    if "community_id" in patch:
        require_community(session, patch["community_id"])
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
    uow.emit(
        "volunteer.updated",
        {
            "volunteer_id": volunteer.id,
            "changed": sorted(patch),
            "community_id": volunteer.community_id,
            "skills": view["skills"],
            "status": volunteer.status,
        },
    )
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
        stmt = stmt.where(
            Volunteer.id.in_(select(VolunteerSkill.volunteer_id).where(VolunteerSkill.skill == query["skill"]))
        )
    if query.get("team_id"):
        stmt = stmt.where(
            Volunteer.id.in_(select(Membership.volunteer_id).where(Membership.team_id == str(query["team_id"])))
        )
    return paginate(
        session, stmt, Volunteer.id, query["limit"], query.get("cursor"), lambda rows: volunteer_views(session, rows)
    )


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
    organisations = set(session.scalars(select(Organisation.id)))
    accepted: dict[str, dict[str, Any]] = {}  # by ID-number fingerprint: the first row of a person wins
    for index, data in loaded.items():
        if str(data["community_id"]) not in communities:
            rejected.append({"row": index, "fields": {"community_id": ["no such community"]}})
            continue
        if data.get("organisation_id") and str(data["organisation_id"]) not in organisations:
            rejected.append({"row": index, "fields": {"organisation_id": ["no such organisation"]}})
            continue
        accepted.setdefault(pii.fingerprint(canonical_id_number(data["id_number"])), data)
    existing = set(stored(session, Volunteer.__table__, "id_number_hash", accepted))
    if pii.rotating:  # a duplicate may still carry a previous key's fingerprint
        previous = {
            old: fingerprint
            for fingerprint, data in accepted.items()
            for old in pii.fingerprints(canonical_id_number(data["id_number"]))[1:]
        }
        existing |= {previous[old] for old in stored(session, Volunteer.__table__, "id_number_hash", previous)}
    now = utcnow()
    fresh = [
        (_volunteer_columns(pii, data, fingerprint), data)
        for fingerprint, data in accepted.items()
        if fingerprint not in existing
    ]
    insert_rows(
        session, Volunteer.__table__, [volunteer for volunteer, _ in fresh], same={"created_at": now, "updated_at": now}
    )
    insert_rows(
        session,
        VolunteerSkill.__table__,
        [{"volunteer_id": v["id"], "skill": skill} for v, data in fresh for skill in sorted(set(data["skills"]))],
    )
    insert_rows(
        session,
        Certification.__table__,
        [
            {
                "id": str(uuid.uuid4()),
                "volunteer_id": v["id"],
                "kind": c["kind"],
                "number": c.get("number"),
                "issued_on": c.get("issued_on"),
            }
            for v, data in fresh
            for c in data["certifications"]
        ],
    )
    for volunteer, data in fresh:
        uow.emit("volunteer.registered", _registered_event(volunteer, data["skills"], data["certifications"]))
    rejected.sort(key=lambda r: r["row"])
    return {"created": len(fresh), "duplicates": len(rows) - len(rejected) - len(fresh), "rejected": rejected}
