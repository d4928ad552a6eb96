"""Set-based imports of the district's structure: places, organisations, teams and
cadres, thousands of rows a call (the district has 3,000 partners and 4,046 cadres).
Rows name each other by code; a row whose code is stored already counts as a
duplicate, so loading the same rows twice changes nothing."""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from services.registry.places import is_community, parent_problem
from services.registry.rows import CadreRow, OrganisationRow, PlaceRow, TeamRow
from services.registry.store import RegistryStore
from yilin.db import UnitOfWork
from yilin.errors import InvalidInput, load_each

PLACE_ROWS, ORGANISATION_ROWS, TEAM_ROWS, CADRE_ROWS = (
    PlaceRow(many=True),
    OrganisationRow(many=True),
    TeamRow(many=True),
    CadreRow(many=True),
)


class _Batch:
    """One import call: its valid rows, the rejected ones and the code → id answer."""

    def __init__(self, schema: Any, rows: Any) -> None:
        if not isinstance(rows, list):
            raise InvalidInput("rows must be a list of records", {"rows": ["expected a list"]})
        self.total = len(rows)
        self.loaded, errors = load_each(schema, rows)
        self.rejected = [{"row": i, "fields": f} for i, f in errors.items()]
        self.ids: dict[str, str] = {}
        self.created = 0

    def reject(self, index: int, field: str, message: str) -> None:
        self.rejected.append({"row": index, "fields": {field: [message]}})

    def result(self) -> dict[str, Any]:
        self.rejected.sort(key=lambda r: r["row"])
        return {
            "created": self.created,
            "duplicates": self.total - self.created - len(self.rejected),
            "rejected": self.rejected,
            "ids": self.ids,
        }


def import_places(uow: UnitOfWork, rows: Any) -> dict[str, Any]:
    """Places in parent-first order; each parent stored or earlier in the batch."""
    store, batch = RegistryStore(uow.session), _Batch(PLACE_ROWS, rows)
    stored = store.places_by_code([d["code"] for d in batch.loaded.values()])
    known = {
        **store.places_by_code([d["parent_code"] for d in batch.loaded.values() if d["parent_code"]]),
        **stored,
    }
    fresh = []
    for index, data in batch.loaded.items():
        if data["code"] in stored:
            batch.ids[data["code"]] = stored[data["code"]][0]
            continue
        parent = known.get(data["parent_code"]) if data["parent_code"] else None
        if data["parent_code"] and parent is None:
            batch.reject(index, "parent_code", f"no place {data['parent_code']}")
            continue
        problem = parent_problem(data["level"], parent[1] if parent else None)
        if problem:
            batch.reject(index, "parent_code", problem)
            continue
        ident = str(uuid.uuid4())
        known[data["code"]] = stored[data["code"]] = (ident, data["level"])
        batch.ids[data["code"]] = ident
        fresh.append(
            {
                "id": ident,
                "code": data["code"],
                "name": data["name"],
                "level": data["level"],
                "parent_id": parent[0] if parent else None,
            }
        )
    store.insert_places(fresh)
    for p in fresh:
        uow.emit(
            "place.created", {"place_id": p["id"], "code": p["code"], "level": p["level"], "parent_id": p["parent_id"]}
        )
    batch.created = len(fresh)
    return batch.result()


def _communities(store: RegistryStore, codes: Iterable[str]) -> dict[str, str]:
    return {code: ident for code, (ident, level) in store.places_by_code(codes).items() if is_community(level)}


def _resolve_covers(batch: _Batch, index: int, codes: list[str], communities: dict[str, str]) -> list[str] | None:
    missing = [c for c in codes if c not in communities]
    if missing:
        batch.reject(index, "covers", f"not a community: {', '.join(missing[:5])}")
        return None
    return sorted({communities[c] for c in codes})


def import_organisations(uow: UnitOfWork, rows: Any) -> dict[str, Any]:
    """Organisations (partners with their services and the communities they cover)."""
    store, batch = RegistryStore(uow.session), _Batch(ORGANISATION_ROWS, rows)
    stored = store.organisations_by_code([d["code"] for d in batch.loaded.values()])
    communities = _communities(
        store, {c for d in batch.loaded.values() for c in [d["community_code"], *d["covers"]] if c}
    )
    fresh, covers = [], []
    for index, data in batch.loaded.items():
        if data["code"] in stored:
            batch.ids[data["code"]] = stored[data["code"]]
            continue
        if data["community_code"] and data["community_code"] not in communities:
            batch.reject(index, "community_code", f"not a community: {data['community_code']}")
            continue
        declared = _resolve_covers(batch, index, data["covers"], communities)
        if declared is None:
            continue
        ident = stored[data["code"]] = batch.ids[data["code"]] = str(uuid.uuid4())
        fresh.append(
            {
                "id": ident,
                "code": data["code"],
                "name": data["name"],
                "kind": data["kind"],
                "community_id": communities.get(data["community_code"] or ""),
                "services": sorted(set(data["services"])),
                "district_wide": data["district_wide"],
            }
        )
        covers.append(declared)
    store.insert_organisations(fresh)
    store.insert_coverage(
        [{"holder_id": o["id"], "community_id": c} for o, declared in zip(fresh, covers) for c in declared]
    )
    for o, declared in zip(fresh, covers):
        uow.emit(
            "organisation.registered",
            {
                "organisation_id": o["id"],
                "code": o["code"],
                "kind": o["kind"],
                "community_id": o["community_id"],
                "services": o["services"],
                "covers": declared,
                "district_wide": o["district_wide"],
            },
        )
    batch.created = len(fresh)
    return batch.result()


def import_teams(uow: UnitOfWork, rows: Any) -> dict[str, Any]:
    """Teams, each run by a stored organisation and based in a community."""
    store, batch = RegistryStore(uow.session), _Batch(TEAM_ROWS, rows)
    stored = store.teams_by_code([d["code"] for d in batch.loaded.values()])
    organisations = store.organisations_by_code([d["organisation_code"] for d in batch.loaded.values()])
    communities = _communities(store, {c for d in batch.loaded.values() for c in [d["community_code"], *d["covers"]]})
    fresh, covers = [], []
    for index, data in batch.loaded.items():
        if data["code"] in stored:
            batch.ids[data["code"]] = stored[data["code"]]
            continue
        if data["organisation_code"] not in organisations:
            batch.reject(index, "organisation_code", f"no organisation {data['organisation_code']}")
            continue
        if data["community_code"] not in communities:
            batch.reject(index, "community_code", f"not a community: {data['community_code']}")
            continue
        declared = _resolve_covers(batch, index, data["covers"], communities)
        if declared is None:
            continue
        ident = stored[data["code"]] = batch.ids[data["code"]] = str(uuid.uuid4())
        home = communities[data["community_code"]]
        fresh.append(
            {
                "id": ident,
                "code": data["code"],
                "name": data["name"],
                "organisation_id": organisations[data["organisation_code"]],
                "community_id": home,
                "professional": data["professional"],
                "domain": data["domain"],
                "skills": sorted(set(data["skills"])),
                "district_wide": data["district_wide"],
            }
        )
        covers.append([c for c in declared if c != home])
    store.insert_teams(fresh)
    store.insert_coverage(
        [{"holder_id": t["id"], "community_id": c} for t, declared in zip(fresh, covers) for c in declared]
    )
    for t, declared in zip(fresh, covers):
        uow.emit(
            "team.created",
            {
                "team_id": t["id"],
                "code": t["code"],
                "organisation_id": t["organisation_id"],
                "community_id": t["community_id"],
                "professional": t["professional"],
                "domain": t["domain"],
                "skills": t["skills"],
                "covers": declared,
                "district_wide": t["district_wide"],
            },
        )
    batch.created = len(fresh)
    return batch.result()


def import_cadres(uow: UnitOfWork, rows: Any) -> dict[str, Any]:
    """Government party-member cadres (staff) and the grids each accompanies."""
    store, batch = RegistryStore(uow.session), _Batch(CADRE_ROWS, rows)
    stored = store.cadres_by_code([d["code"] for d in batch.loaded.values()])
    organisations = store.organisations_by_code([d["organisation_code"] for d in batch.loaded.values()])
    places = store.places_by_code({g for d in batch.loaded.values() for g in d["grid_codes"]})
    grids = {code: ident for code, (ident, level) in places.items() if level == "grid"}
    fresh, links = [], []
    for index, data in batch.loaded.items():
        if data["code"] in stored:
            batch.ids[data["code"]] = stored[data["code"]]
            continue
        if data["organisation_code"] not in organisations:
            batch.reject(index, "organisation_code", f"no organisation {data['organisation_code']}")
            continue
        missing = [g for g in data["grid_codes"] if g not in grids]
        if missing:
            batch.reject(index, "grid_codes", f"not a grid: {', '.join(missing[:5])}")
            continue
        ident = stored[data["code"]] = batch.ids[data["code"]] = str(uuid.uuid4())
        fresh.append(
            {
                "id": ident,
                "code": data["code"],
                "name": data["name"],
                "organisation_id": organisations[data["organisation_code"]],
                "volunteer_id": None,
            }
        )
        links.append(sorted({grids[g] for g in data["grid_codes"]}))
    store.insert_cadres(
        fresh, [{"cadre_id": c["id"], "grid_id": g} for c, grid_ids in zip(fresh, links) for g in grid_ids]
    )
    for c, grid_ids in zip(fresh, links):
        uow.emit(
            "cadre.assigned",
            {"cadre_id": c["id"], "organisation_id": c["organisation_id"], "volunteer_id": None, "grid_ids": grid_ids},
        )
    batch.created = len(fresh)
    return batch.result()
