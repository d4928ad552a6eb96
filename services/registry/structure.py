"""The district's structure beyond places and teams: grids and the cadres who accompany
them, dispatch candidates (teams and partners covering a community), the certified
social worker an escalation names, and the registry's counts."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from services.registry import coverage
from services.registry.domain import require_community, unique_code
from services.registry.models import (
    Cadre,
    CadreGrid,
    Certification,
    Membership,
    Organisation,
    Place,
    ServiceUnit,
    Team,
    UnitVolunteer,
    Volunteer,
)
from services.registry.schemas import PARTNER_KINDS
from yilin.db import UnitOfWork
from yilin.errors import InvalidInput, NotFound
from yilin.paging import paginate
from yilin.rows import get_or_404

SOCIAL_WORKER = "certified_social_worker"  # the certification kind an escalation needs


# -- grids --------------------------------------------------------------------------
def get_grid(session: Session, grid_id: Any) -> dict[str, Any]:
    """A grid with its community and the cadres who accompany it."""
    grid = get_or_404(session, Place, grid_id, "grid_id")
    if grid.level != "grid":
        raise InvalidInput("grid_id must be a grid", {"grid_id": [f"is a {grid.level}, not a grid"]})
    cadres = sorted(session.scalars(select(CadreGrid.cadre_id).where(CadreGrid.grid_id == grid.id)))
    return {"id": grid.id, "code": grid.code, "name": grid.name, "community_id": grid.parent_id, "cadre_ids": cadres}


def _require_grids(session: Session, ids: Sequence[str]) -> list[str]:
    wanted = sorted({str(i) for i in ids})
    found = set(session.scalars(select(Place.id).where(Place.id.in_(wanted), Place.level == "grid")))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput("grid_ids must name grids", {"grid_ids": [f"not a grid: {', '.join(missing[:5])}"]})
    return wanted


# -- cadres -------------------------------------------------------------------------
def cadre_view(cadre: Cadre, grid_ids: list[str]) -> dict[str, Any]:
    return {
        "id": cadre.id,
        "code": cadre.code,
        "name": cadre.name,
        "organisation_id": cadre.organisation_id,
        "volunteer_id": cadre.volunteer_id,
        "party_member": True,
        "grid_ids": grid_ids,
    }


def create_cadre(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Place a government party-member cadre (a volunteer or staff) on grids."""
    session = uow.session
    unique_code(session, Cadre, data["code"])
    get_or_404(session, Organisation, data["organisation_id"], "organisation_id")
    volunteer_id = str(data["volunteer_id"]) if data.get("volunteer_id") else None
    if volunteer_id:
        volunteer = get_or_404(session, Volunteer, volunteer_id, "volunteer_id")
        if not volunteer.party_member:
            raise InvalidInput("a cadre is a party member", {"volunteer_id": ["is not flagged as a party member"]})
    grid_ids = _require_grids(session, data["grid_ids"])
    cadre = Cadre(
        code=data["code"], name=data["name"], organisation_id=str(data["organisation_id"]), volunteer_id=volunteer_id
    )
    session.add(cadre)
    session.flush()
    session.add_all([CadreGrid(cadre_id=cadre.id, grid_id=g) for g in grid_ids])
    uow.emit(
        "cadre.assigned",
        {
            "cadre_id": cadre.id,
            "organisation_id": cadre.organisation_id,
            "volunteer_id": volunteer_id,
            "grid_ids": grid_ids,
        },
    )
    return cadre_view(cadre, grid_ids)


def list_cadres(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Cadre)
    if query.get("organisation_id"):
        stmt = stmt.where(Cadre.organisation_id == str(query["organisation_id"]))
    if query.get("grid_id"):
        stmt = stmt.where(Cadre.id.in_(select(CadreGrid.cadre_id).where(CadreGrid.grid_id == str(query["grid_id"]))))

    def render(rows: Sequence[Cadre]) -> list[dict[str, Any]]:
        grids: dict[str, list[str]] = {c.id: [] for c in rows}
        for cadre_id, grid_id in session.execute(
            select(CadreGrid.cadre_id, CadreGrid.grid_id)
            .where(CadreGrid.cadre_id.in_(list(grids)))
            .order_by(CadreGrid.grid_id)
        ):
            grids[cadre_id].append(grid_id)
        return [cadre_view(c, grids[c.id]) for c in rows]

    return paginate(session, stmt, Cadre.id, query["limit"], query.get("cursor"), render)


# -- dispatch candidates ------------------------------------------------------------
def _coverage(home: str | None, holder_id: str, declared: set[str], community_id: str) -> str:
    if home == community_id:
        return "home"
    return "covers" if holder_id in declared else "district"


def find_candidates(session: Session, community_id: str, skill: str) -> list[dict[str, Any]]:
    """Teams and partner organisations that offer ``skill`` and serve ``community_id``:
    based there, declaring it, or district-wide."""
    require_community(session, community_id)
    declared = coverage.holders_covering(session, community_id)
    serving = [Team.community_id == community_id, Team.district_wide.is_(True)]
    if declared:
        serving.append(Team.id.in_(declared))
    teams = [
        t
        for t in session.scalars(select(Team).where(or_(*serving)).order_by(Team.code))
        if skill in (t.skills or []) or t.domain == skill
    ]
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
    found = [
        {
            "kind": "team",
            "id": t.id,
            "code": t.code,
            "name": t.name,
            "professional": t.professional,
            "domain": t.domain,
            "skills": list(t.skills or []),
            "member_count": counts.get(t.id, 0),
            "coverage": _coverage(t.community_id, t.id, declared, community_id),
        }
        for t in teams
    ]
    serving = [Organisation.community_id == community_id, Organisation.district_wide.is_(True)]
    if declared:
        serving.append(Organisation.id.in_(declared))
    partners = session.scalars(
        select(Organisation).where(Organisation.kind.in_(PARTNER_KINDS), or_(*serving)).order_by(Organisation.code)
    )
    found += [
        {
            "kind": "partner",
            "id": o.id,
            "code": o.code,
            "name": o.name,
            "professional": False,
            "domain": None,
            "skills": list(o.services or []),
            "member_count": 0,
            "coverage": _coverage(o.community_id, o.id, declared, community_id),
        }
        for o in partners
        if skill in (o.services or [])
    ]
    return found


def get_partner(session: Session, organisation_id: Any) -> dict[str, Any]:
    """An organisation a ticket can be given to (a social enterprise, community partner or property manager)."""
    org = get_or_404(session, Organisation, organisation_id, "partner_id")
    if org.kind not in PARTNER_KINDS:
        raise InvalidInput(
            "partner_id must be a partner organisation",
            {"partner_id": [f"is a {org.kind}, not one of {', '.join(PARTNER_KINDS)}"]},
        )
    return {"id": org.id, "code": org.code, "name": org.name, "kind": org.kind, "services": list(org.services or [])}


def volunteer_statuses(session: Session, volunteer_ids: list[str]) -> dict[str, str]:
    """Status of each known volunteer among ``volunteer_ids`` (unknown ones are absent)."""
    ids = sorted({str(v) for v in volunteer_ids})
    return (
        dict(session.execute(select(Volunteer.id, Volunteer.status).where(Volunteer.id.in_(ids))).all()) if ids else {}
    )


# -- escalation ---------------------------------------------------------------------
def find_social_worker(session: Session, community_id: str, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """A named, active certified social worker for ``community_id``: first from the
    volunteers of the community's 1+1+1+N units, else from the teams of those units'
    social-work agencies. ``exclude`` skips people already tried."""
    require_community(session, community_id)
    units = select(ServiceUnit.id).where(ServiceUnit.community_id == community_id)
    certified = select(Certification.volunteer_id).where(Certification.kind == SOCIAL_WORKER)
    base = (
        select(Volunteer.id, Volunteer.name, Volunteer.number)
        .where(Volunteer.status == "active", Volunteer.id.in_(certified), Volunteer.id.not_in(list(exclude)))
        .order_by(Volunteer.number)
        .limit(1)
    )
    row = session.execute(
        base.add_columns(UnitVolunteer.unit_id)
        .join(UnitVolunteer, UnitVolunteer.volunteer_id == Volunteer.id)
        .where(UnitVolunteer.unit_id.in_(units))
    ).first()
    if row is not None:
        return {
            "volunteer_id": row.id,
            "name": row.name,
            "number": row.number,
            "unit_id": row.unit_id,
            "source": "unit",
        }
    agencies = select(ServiceUnit.agency_id).where(ServiceUnit.community_id == community_id)
    agency_teams = select(Team.id).where(Team.organisation_id.in_(agencies))
    row = session.execute(
        base.where(Volunteer.id.in_(select(Membership.volunteer_id).where(Membership.team_id.in_(agency_teams))))
    ).first()
    if row is not None:
        return {"volunteer_id": row.id, "name": row.name, "number": row.number, "unit_id": None, "source": "agency"}
    raise NotFound(
        "no certified social worker serves this community",
        {"community_id": ["no active certified social worker in its 1+1+1+N unit or agency"]},
    )


# -- counts -------------------------------------------------------------------------
def counts(session: Session) -> dict[str, Any]:
    """What the registry holds, in the district's own terms."""

    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    return {
        "places": dict(session.execute(select(Place.level, func.count()).group_by(Place.level)).all()),
        "teams": count(select(func.count()).select_from(Team)),
        "professional_teams": count(select(func.count()).select_from(Team).where(Team.professional.is_(True))),
        "volunteers": count(select(func.count()).select_from(Volunteer)),
        "certified_social_workers": count(
            select(func.count(distinct(Certification.volunteer_id))).where(Certification.kind == SOCIAL_WORKER)
        ),
        "partners": count(select(func.count()).select_from(Organisation).where(Organisation.kind.in_(PARTNER_KINDS))),
        "cadres": count(select(func.count()).select_from(Cadre)),
        "cadres_on_grids": count(select(func.count(distinct(CadreGrid.cadre_id)))),
    }
