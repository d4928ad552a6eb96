"""The registry's SQL about places: the hierarchy, grids, and the communities teams and
partners declare they cover beyond their own. Nothing here takes a row lock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select

from services.registry.models import Coverage, Place, utcnow
from services.registry.places import COMMUNITY_LEVELS
from services.registry.store.base import Render, StoreBase
from yilin.bulk import insert_rows, stored
from yilin.paging import paginate
from yilin.rows import get_or_404

COVERAGE_CHUNK = 1000  # holders per ``IN (…)`` when reading coverage


class PlaceStore(StoreBase):
    """Places, grids and declared coverage."""

    # -- places -------------------------------------------------------------------------
    def place(self, place_id: Any, field: str = "place_id") -> Place:
        """The place ``place_id``, or a 404 naming ``field``."""
        return get_or_404(self.session, Place, place_id, field)

    def add_place(self, **columns: Any) -> Place:
        """A new place, flushed (its id assigned)."""
        place = Place(**columns)
        self.session.add(place)
        self.session.flush()
        return place

    def list_places(self, query: dict[str, Any], render: Render) -> dict[str, Any]:
        """One page of places filtered by ``level`` and ``parent_id``, in id order."""
        stmt = select(Place)
        if query.get("level"):
            stmt = stmt.where(Place.level == query["level"])
        if query.get("parent_id"):
            stmt = stmt.where(Place.parent_id == str(query["parent_id"]))
        return paginate(self.session, stmt, Place.id, query["limit"], query.get("cursor"), render)

    def communities_among(self, place_ids: Sequence[str]) -> set[str]:
        """Those of ``place_ids`` that are communities or villages."""
        return set(
            self.session.scalars(select(Place.id).where(Place.id.in_(place_ids), Place.level.in_(COMMUNITY_LEVELS)))
        )

    def community_ids(self) -> set[str]:
        """Every community's and village's id (the volunteer import checks a batch against them)."""
        return set(self.session.scalars(select(Place.id).where(Place.level.in_(COMMUNITY_LEVELS))))

    def grids_among(self, place_ids: Sequence[str]) -> set[str]:
        """Those of ``place_ids`` that are grids."""
        return set(self.session.scalars(select(Place.id).where(Place.id.in_(place_ids), Place.level == "grid")))

    def places_by_code(self, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Stored places among ``codes``: code → (id, level), 1,000 codes a statement."""
        return stored(self.session, Place.__table__, "code", codes, "id", "level")

    def insert_places(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert new places (every column but ``created_at``, which is now), in one
        statement, or one ``COPY`` for 100 rows or more."""
        insert_rows(self.session, Place.__table__, rows, same={"created_at": utcnow()})

    # -- coverage -----------------------------------------------------------------------
    def declare_coverage(self, holder_id: str, community_ids: list[str]) -> None:
        """Replace the communities ``holder_id`` (a team or an organisation) covers."""
        self.session.execute(delete(Coverage).where(Coverage.holder_id == holder_id))
        insert_rows(
            self.session, Coverage.__table__, [{"holder_id": holder_id, "community_id": c} for c in community_ids]
        )

    def insert_coverage(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert declared coverage rows (``holder_id``, ``community_id``) of new holders, in bulk."""
        insert_rows(self.session, Coverage.__table__, rows)

    def covers_of(self, holder_ids: Iterable[str]) -> dict[str, list[str]]:
        """Declared communities per holder, sorted; holders without any get ``[]``. One
        statement per 1,000 holders."""
        ids = list(holder_ids)
        result: dict[str, list[str]] = defaultdict(list)
        for chunk in range(0, len(ids), COVERAGE_CHUNK):
            for holder, community in self.session.execute(
                select(Coverage.holder_id, Coverage.community_id)
                .where(Coverage.holder_id.in_(ids[chunk : chunk + COVERAGE_CHUNK]))
                .order_by(Coverage.community_id)
            ):
                result[holder].append(community)
        return {i: result.get(i, []) for i in ids}

    def holders_covering(self, community_id: str) -> set[str]:
        """Ids of the teams and organisations that declared ``community_id``."""
        return set(self.session.scalars(select(Coverage.holder_id).where(Coverage.community_id == community_id)))
