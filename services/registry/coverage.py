"""The communities teams and partners declare they serve, beyond their own: read and
written here, for the domain and for dispatch."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.registry.models import Coverage, Place
from services.registry.places import COMMUNITY_LEVELS
from yilin.bulk import insert_rows
from yilin.errors import InvalidInput


def check_communities(session: Session, ids: Iterable[str], field: str = "covers") -> list[str]:
    """``ids`` sorted and distinct, each a community or village; otherwise a 4xx naming ``field``."""
    wanted = sorted({str(i) for i in ids})
    if not wanted:
        return []
    found = set(session.scalars(select(Place.id).where(Place.id.in_(wanted), Place.level.in_(COMMUNITY_LEVELS))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(
            f"{field} must name communities or villages", {field: [f"not a community: {', '.join(missing[:5])}"]}
        )
    return wanted


def declare(session: Session, holder_id: str, community_ids: list[str]) -> None:
    """Replace the communities ``holder_id`` (a team or an organisation) covers."""
    session.execute(delete(Coverage).where(Coverage.holder_id == holder_id))
    insert_rows(session, Coverage.__table__, [{"holder_id": holder_id, "community_id": c} for c in community_ids])


def covers_of(session: Session, holder_ids: Iterable[str]) -> dict[str, list[str]]:
    """Declared communities per holder, sorted; holders without any get ``[]``."""
    ids = list(holder_ids)
    result: dict[str, list[str]] = defaultdict(list)
    for chunk in range(0, len(ids), 1000):
        for holder, community in session.execute(
            select(Coverage.holder_id, Coverage.community_id)
            .where(Coverage.holder_id.in_(ids[chunk : chunk + 1000]))
            .order_by(Coverage.community_id)
        ):
            result[holder].append(community)
    return {i: result.get(i, []) for i in ids}


def holders_covering(session: Session, community_id: str) -> set[str]:
    """Ids of the teams and organisations that declared ``community_id``."""
    return set(session.scalars(select(Coverage.holder_id).where(Coverage.community_id == community_id)))
