"""The registry's SQL about the cadres who accompany grids, and its counts. Nothing here
takes a row lock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import distinct, func, select

from services.registry.models import Cadre, CadreGrid, Certification, Organisation, Place, Team, Volunteer, utcnow
from services.registry.schemas import PARTNER_KINDS
from services.registry.store.base import Render, StoreBase
from yilin.bulk import insert_rows, stored
from yilin.paging import paginate


class StructureStore(StoreBase):
    """Cadres on grids, and what the registry holds in all."""

    # -- cadres -----------------------------------------------------------------------------
    def add_cadre(self, grid_ids: Sequence[str], **columns: Any) -> Cadre:
        """A new cadre, flushed, with the grids they accompany (written at the next flush)."""
        cadre = Cadre(**columns)
        self.session.add(cadre)
        self.session.flush()
        self.session.add_all([CadreGrid(cadre_id=cadre.id, grid_id=g) for g in grid_ids])
        return cadre

    def cadres_on_grid(self, grid_id: str) -> list[str]:
        """The ids of the cadres who accompany the grid, sorted."""
        return sorted(self.session.scalars(select(CadreGrid.cadre_id).where(CadreGrid.grid_id == grid_id)))

    def list_cadres(self, query: dict[str, Any], render: Render) -> dict[str, Any]:
        """One page of cadres filtered by ``organisation_id`` and ``grid_id``, in id order."""
        stmt = select(Cadre)
        if query.get("organisation_id"):
            stmt = stmt.where(Cadre.organisation_id == str(query["organisation_id"]))
        if query.get("grid_id"):
            stmt = stmt.where(
                Cadre.id.in_(select(CadreGrid.cadre_id).where(CadreGrid.grid_id == str(query["grid_id"])))
            )
        return paginate(self.session, stmt, Cadre.id, query["limit"], query.get("cursor"), render)

    def grids_of_cadres(self, cadre_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(cadre id, grid id) of every grid the cadres ``cadre_ids`` accompany, in grid id order."""
        return [
            (cadre_id, grid_id)
            for cadre_id, grid_id in self.session.execute(
                select(CadreGrid.cadre_id, CadreGrid.grid_id)
                .where(CadreGrid.cadre_id.in_(list(cadre_ids)))
                .order_by(CadreGrid.grid_id)
            )
        ]

    def cadres_by_code(self, codes: Iterable[str]) -> dict[str, str]:
        """Stored cadres among ``codes``: code → id, 1,000 codes a statement."""
        return stored(self.session, Cadre.__table__, "code", codes, "id")

    def insert_cadres(self, cadres: Sequence[dict[str, Any]], links: Sequence[dict[str, Any]]) -> None:
        """Insert new cadres (every column but ``created_at``, which is now) and their
        grids (``cadre_id``, ``grid_id``), in bulk."""
        insert_rows(self.session, Cadre.__table__, cadres, same={"created_at": utcnow()})
        insert_rows(self.session, CadreGrid.__table__, links)

    # -- counts -----------------------------------------------------------------------------
    def counts(self, certification: str) -> dict[str, Any]:
        """Places per level, and how many teams (professional ones too), volunteers,
        volunteers holding ``certification``, partners, cadres and cadres on grids
        the registry holds."""

        def count(stmt: Any) -> int:
            return int(self.session.scalar(stmt) or 0)

        places = self.session.execute(select(Place.level, func.count()).group_by(Place.level))
        return {
            "places": {level: n for level, n in places},
            "teams": count(select(func.count()).select_from(Team)),
            "professional_teams": count(select(func.count()).select_from(Team).where(Team.professional.is_(True))),
            "volunteers": count(select(func.count()).select_from(Volunteer)),
            "certified_social_workers": count(
                select(func.count(distinct(Certification.volunteer_id))).where(Certification.kind == certification)
            ),
            "partners": count(
                select(func.count()).select_from(Organisation).where(Organisation.kind.in_(PARTNER_KINDS))
            ),
            "cadres": count(select(func.count()).select_from(Cadre)),
            "cadres_on_grids": count(select(func.count(distinct(CadreGrid.cadre_id)))),
        }
