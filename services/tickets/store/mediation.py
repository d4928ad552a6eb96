"""Mediation cases and the reports beside them (disputes by street and month, services
by beneficiary group): every query and write. Rules from :mod:`voice_rules`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.tickets.models import MediationCase, MediationParty, MediationSession, Ticket, utcnow
from services.tickets.rules import aware
from services.tickets.store.voice import _bounds, refused
from services.tickets.voice_rules import (
    BENEFICIARY_GROUPS,
    OUTCOMES,
    PartyRating,
    VoiceRuleError,
    check_close,
    mask_name,
    month_of,
    satisfaction_rate,
)
from yilin.db import UnitOfWork
from yilin.errors import NotFound
from yilin.identity import Identity


def case_row(session: Session, case_id: Any, lock: bool = False) -> MediationCase:
    row = session.get(MediationCase, str(case_id), with_for_update=lock or None)
    if row is None:
        raise NotFound(f"mediation case {case_id} does not exist", {"case_id": ["not found"]})
    return row


def _parties(session: Session, case_id: str) -> list[MediationParty]:
    return list(
        session.scalars(select(MediationParty).where(MediationParty.case_id == case_id).order_by(MediationParty.number))
    )


def case_view(session: Session, row: MediationCase) -> dict[str, Any]:
    parties = _parties(session, row.id)
    sessions = session.scalars(
        select(MediationSession).where(MediationSession.case_id == row.id).order_by(MediationSession.held_at)
    )
    return {
        "id": row.id,
        "community_id": row.community_id,
        "street_id": row.street_id,
        "ticket_id": row.ticket_id,
        "social_worker_id": row.social_worker_id,
        "summary": row.summary,
        "state": row.state,
        "outcome": row.outcome,
        "opened_at": aware(row.opened_at),
        "closed_at": aware(row.closed_at),
        "parties": [
            {"number": p.number, "name": p.name_masked, "people": p.people, "rating": p.rating} for p in parties
        ],
        "sessions": [{"held_at": aware(s.held_at), "minutes": s.minutes, "note": s.note} for s in sessions],
        "satisfaction_rate": satisfaction_rate([PartyRating(p.people, p.rating) for p in parties]),
    }


def _ref(row: MediationCase) -> dict[str, Any]:
    return {"case_id": row.id, "community_id": row.community_id, "street_id": row.street_id}


def open_case(
    uow: UnitOfWork, caller: Identity, data: dict[str, Any], street_id: str | None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    row = MediationCase(
        community_id=str(data["community_id"]),
        street_id=street_id,
        ticket_id=str(data["ticket_id"]) if data.get("ticket_id") else None,
        social_worker_id=str(data["social_worker_id"]),
        summary=data["summary"],
        state="open",
        opened_by=caller.subject,
        opened_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    for number, party in enumerate(data["parties"], start=1):
        uow.session.add(
            MediationParty(case_id=row.id, number=number, name_masked=mask_name(party["name"]), people=party["people"])
        )
    uow.session.flush()
    people = sum(p["people"] for p in data["parties"])
    uow.emit("mediation.opened", {**_ref(row), "parties": len(data["parties"]), "people": people})
    return case_view(uow.session, row)


def add_session(uow: UnitOfWork, caller: Identity, case_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    row = case_row(uow.session, case_id, lock=True)
    if row.state != "open":
        raise refused(VoiceRuleError("a closed case takes no more sessions", "state"))
    uow.session.add(
        MediationSession(
            case_id=row.id,
            held_at=data["held_at"],
            minutes=data["minutes"],
            note=data.get("note"),
            recorded_by=caller.subject,
        )
    )
    uow.session.flush()
    return case_view(uow.session, row)


def close_case(uow: UnitOfWork, case_id: Any, data: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Close with the outcome and each party's satisfaction."""
    now = now or utcnow()
    session = uow.session
    row = case_row(session, case_id, lock=True)
    parties = _parties(session, row.id)
    ratings = {r["party"]: r["rating"] for r in data["satisfaction"]}
    try:
        check_close(row.state, data["outcome"], len(parties), ratings)
    except VoiceRuleError as error:
        raise refused(error) from None
    for party in parties:
        party.rating = ratings.get(party.number)
    row.state, row.outcome, row.closed_at = "closed", data["outcome"], now
    session.flush()
    rate = satisfaction_rate([PartyRating(p.people, p.rating) for p in parties])
    uow.emit("mediation.closed", {**_ref(row), "outcome": row.outcome, "satisfaction_rate": rate})
    return case_view(session, row)


def list_cases(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    stmt = select(MediationCase)
    for key in ("community_id", "street_id", "state"):
        if query.get(key):
            stmt = stmt.where(getattr(MediationCase, key) == str(query[key]))
    return [case_view(session, r) for r in session.scalars(stmt.order_by(MediationCase.opened_at).limit(200))]


def dispute_report(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Cases closed per street and month: count, people, outcomes, satisfaction rate."""
    stmt = select(MediationCase).where(MediationCase.state == "closed")
    low, high = _bounds(query)
    if query.get("street_id"):
        stmt = stmt.where(MediationCase.street_id == str(query["street_id"]))
    if low:
        stmt = stmt.where(MediationCase.closed_at >= low)
    if high:
        stmt = stmt.where(MediationCase.closed_at < high)
    cases = session.scalars(stmt).all()
    parties: dict[str, list[PartyRating]] = defaultdict(list)
    if cases:
        for p in session.scalars(select(MediationParty).where(MediationParty.case_id.in_([c.id for c in cases]))):
            parties[p.case_id].append(PartyRating(p.people, p.rating))
    groups: dict[tuple[str, str], list[MediationCase]] = defaultdict(list)
    for c in cases:
        groups[(c.street_id or "", month_of(aware(c.closed_at) or c.opened_at))].append(c)
    rows = []
    for (street, month), items in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ratings = [r for c in items for r in parties[c.id]]
        outcomes = {o: 0 for o in OUTCOMES}
        for c in items:
            outcomes[c.outcome or "withdrawn"] += 1
        rows.append(
            {
                "street_id": street or None,
                "month": month,
                "cases": len(items),
                "people": sum(r.people for r in ratings),
                "outcomes": outcomes,
                "satisfaction_rate": satisfaction_rate(ratings),
            }
        )
    return rows


def dispute_counts(session: Session, low: datetime | None, high: datetime | None) -> dict[str, float]:
    """Disputes handled (cases closed) in [low, high) and their satisfaction rate."""
    stmt = select(MediationCase.id).where(MediationCase.state == "closed")
    if low:
        stmt = stmt.where(MediationCase.closed_at >= low)
    if high:
        stmt = stmt.where(MediationCase.closed_at < high)
    ids = list(session.scalars(stmt))
    ratings = (
        [
            PartyRating(p.people, p.rating)
            for p in session.scalars(select(MediationParty).where(MediationParty.case_id.in_(ids)))
        ]
        if ids
        else []
    )
    rate = satisfaction_rate(ratings)
    return {"disputes_handled": len(ids), "dispute_satisfaction_rate": rate if rate is not None else 0.0}


def group_report(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Tickets per beneficiary group and month reported: services (cancelled excluded),
    completed, and reach (distinct residents; a ticket with no resident id counts one)."""
    stmt = select(Ticket.id, Ticket.state, Ticket.resident_id, Ticket.reported_at, Ticket.beneficiary_groups).where(
        Ticket.state != "cancelled"
    )
    low, high = _bounds(query)
    if query.get("community_id"):
        stmt = stmt.where(Ticket.community_id == str(query["community_id"]))
    if low:
        stmt = stmt.where(Ticket.reported_at >= low)
    if high:
        stmt = stmt.where(Ticket.reported_at < high)
    stats: dict[tuple[str, str], dict[str, Any]] = {}
    for t in session.execute(stmt):
        for group in t.beneficiary_groups or ():
            if group not in BENEFICIARY_GROUPS:
                continue
            key = (group, month_of(aware(t.reported_at) or utcnow()))
            item = stats.setdefault(key, {"services": 0, "completed": 0, "people": set()})
            item["services"] += 1
            item["completed"] += t.state in ("resolved", "confirmed")
            item["people"].add(t.resident_id or f"ticket:{t.id}")
    return [
        {"group": g, "month": m, "services": v["services"], "completed": v["completed"], "reach": len(v["people"])}
        for (g, m), v in sorted(stats.items(), key=lambda kv: (kv[0][1], BENEFICIARY_GROUPS.index(kv[0][0])))
    ]


def tickets_resolved(session: Session, low: datetime | None, high: datetime | None) -> int:
    stmt = select(func.count()).select_from(Ticket).where(Ticket.resolved_at.is_not(None))
    if low:
        stmt = stmt.where(Ticket.resolved_at >= low)
    if high:
        stmt = stmt.where(Ticket.resolved_at < high)
    return int(session.scalar(stmt) or 0)
