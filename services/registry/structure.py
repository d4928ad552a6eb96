"""The district's structure beyond places and teams: grids and the cadres who accompany
them, dispatch candidates (teams and partners covering a community), the certified
social worker an escalation names, and the registry's counts."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.orm import Session

from services.registry.domain import require_community, unique_code
from services.registry.models import Cadre
from services.registry.schemas import PARTNER_KINDS
from services.registry.store import RegistryStore
from yilin.db import UnitOfWork
from yilin.errors import InvalidInput, NotFound

SOCIAL_WORKER = "certified_social_worker"  # the certification kind an escalation needs


# -- grids --------------------------------------------------------------------------
def get_grid(session: Session, grid_id: Any) -> dict[str, Any]:
    """A grid with its community and the cadres who accompany it."""
    store = RegistryStore(session)
    grid = store.place(grid_id, "grid_id")
    if grid.level != "grid":
        raise InvalidInput("grid_id must be a grid", {"grid_id": [f"is a {grid.level}, not a grid"]})
    cadres = store.cadres_on_grid(grid.id)
    return {"id": grid.id, "code": grid.code, "name": grid.name, "community_id": grid.parent_id, "cadre_ids": cadres}


def _require_grids(store: RegistryStore, ids: Sequence[str]) -> list[str]:
    wanted = sorted({str(i) for i in ids})
    found = store.grids_among(wanted)
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
    store = RegistryStore(uow.session)
    unique_code(store, Cadre, data["code"])
    store.organisation(data["organisation_id"], "organisation_id")
    volunteer_id = str(data["volunteer_id"]) if data.get("volunteer_id") else None
    if volunteer_id:
        volunteer = store.volunteer(volunteer_id)
        if not volunteer.party_member:
            raise InvalidInput("a cadre is a party member", {"volunteer_id": ["is not flagged as a party member"]})
    grid_ids = _require_grids(store, data["grid_ids"])
    cadre = store.add_cadre(
        grid_ids,
        code=data["code"],
        name=data["name"],
        organisation_id=str(data["organisation_id"]),
        volunteer_id=volunteer_id,
    )
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
    store = RegistryStore(session)

    def render(rows: Sequence[Cadre]) -> list[dict[str, Any]]:
        grids: dict[str, list[str]] = {c.id: [] for c in rows}
        for cadre_id, grid_id in store.grids_of_cadres(list(grids)):
            grids[cadre_id].append(grid_id)
        return [cadre_view(c, grids[c.id]) for c in rows]

    return store.list_cadres(query, render)


# -- dispatch candidates ------------------------------------------------------------
def _coverage(home: str | None, holder_id: str, declared: set[str], community_id: str) -> str:
    if home == community_id:
        return "home"
    return "covers" if holder_id in declared else "district"


def find_candidates(session: Session, community_id: str, skill: str) -> list[dict[str, Any]]:
    """Teams and partner organisations that offer ``skill`` and serve ``community_id``:
    based there, declaring it, or district-wide."""
    store = RegistryStore(session)
    require_community(store, community_id)
    declared = store.holders_covering(community_id)
    teams = [t for t in store.teams_serving(community_id, declared) if skill in (t.skills or []) or t.domain == skill]
    counts = store.member_counts([t.id for t in teams])
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
    partners = store.partners_serving(community_id, declared)
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
    org = RegistryStore(session).organisation(organisation_id, "partner_id")
    if org.kind not in PARTNER_KINDS:
        raise InvalidInput(
            "partner_id must be a partner organisation",
            {"partner_id": [f"is a {org.kind}, not one of {', '.join(PARTNER_KINDS)}"]},
        )
    return {"id": org.id, "code": org.code, "name": org.name, "kind": org.kind, "services": list(org.services or [])}


def volunteer_statuses(session: Session, volunteer_ids: list[str]) -> dict[str, str]:
    """Status of each known volunteer among ``volunteer_ids`` (unknown ones are absent)."""
    return RegistryStore(session).statuses(sorted({str(v) for v in volunteer_ids}))


# -- escalation ---------------------------------------------------------------------
def find_social_worker(session: Session, community_id: str, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """A named, active certified social worker for ``community_id``: first from the
    volunteers of the community's 1+1+1+N units, else from the teams of those units'
    social-work agencies. ``exclude`` skips people already tried."""
    store = RegistryStore(session)
    require_community(store, community_id)
    row = store.certified_in_units(community_id, SOCIAL_WORKER, exclude)
    if row is not None:
        return {
            "volunteer_id": row.id,
            "name": row.name,
            "number": row.number,
            "unit_id": row.unit_id,
            "source": "unit",
        }
    row = store.certified_in_agencies(community_id, SOCIAL_WORKER, exclude)
    if row is not None:
        return {"volunteer_id": row.id, "name": row.name, "number": row.number, "unit_id": None, "source": "agency"}
    raise NotFound(
        "no certified social worker serves this community",
        {"community_id": ["no active certified social worker in its 1+1+1+N unit or agency"]},
    )


# -- counts -------------------------------------------------------------------------
def counts(session: Session) -> dict[str, Any]:
    """What the registry holds, in the district's own terms."""
    return RegistryStore(session).counts(SOCIAL_WORKER)
