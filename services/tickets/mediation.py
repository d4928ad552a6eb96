"""Mediation cases and the reports beside them (disputes by street and month, services
by beneficiary group), over a unit of work. Rules from :mod:`voice_rules`, every
statement from :class:`~services.tickets.store.mediation.MediationStore`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.tickets.models import MediationCase, MediationParty, MediationSession, utcnow
from services.tickets.rules import aware
from services.tickets.store.mediation import MediationStore
from services.tickets.voice import _bounds, refused
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
from yilin.identity import Identity


def case_row(session: Session, case_id: Any, lock: bool = False) -> MediationCase:
    """The case (its row locked until the transaction ends with ``lock``), or 404."""
    return MediationStore(session).case(case_id, lock)


def case_view(session: Session, row: MediationCase) -> dict[str, Any]:
    store = MediationStore(session)
    parties = store.parties(row.id)
    sessions = store.sessions(row.id)
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
    store = MediationStore(uow.session)
    store.add_case(row)
    for number, party in enumerate(data["parties"], start=1):
        store.add(
            MediationParty(case_id=row.id, number=number, name_masked=mask_name(party["name"]), people=party["people"])
        )
    store.flush()
    people = sum(p["people"] for p in data["parties"])
    uow.emit("mediation.opened", {**_ref(row), "parties": len(data["parties"]), "people": people})
    return case_view(uow.session, row)


def add_session(uow: UnitOfWork, caller: Identity, case_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    store = MediationStore(uow.session)
    row = store.case(case_id, lock=True)
    if row.state != "open":
        raise refused(VoiceRuleError("a closed case takes no more sessions", "state"))
    store.add(
        MediationSession(
            case_id=row.id,
            held_at=data["held_at"],
            minutes=data["minutes"],
            note=data.get("note"),
            recorded_by=caller.subject,
        )
    )
    store.flush()
    return case_view(uow.session, row)


def close_case(uow: UnitOfWork, case_id: Any, data: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Close with the outcome and each party's satisfaction."""
    now = now or utcnow()
    session = uow.session
    store = MediationStore(session)
    row = store.case(case_id, lock=True)
    parties = store.parties(row.id)
    ratings = {r["party"]: r["rating"] for r in data["satisfaction"]}
    try:
        check_close(row.state, data["outcome"], len(parties), ratings)
    except VoiceRuleError as error:
        raise refused(error) from None
    for party in parties:
        party.rating = ratings.get(party.number)
    row.state, row.outcome, row.closed_at = "closed", data["outcome"], now
    store.flush()
    rate = satisfaction_rate([PartyRating(p.people, p.rating) for p in parties])
    uow.emit("mediation.closed", {**_ref(row), "outcome": row.outcome, "satisfaction_rate": rate})
    return case_view(session, row)


def list_cases(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    filters = {key: str(query[key]) for key in ("community_id", "street_id", "state") if query.get(key)}
    return [case_view(session, r) for r in MediationStore(session).cases(filters)]


def dispute_report(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Cases closed per street and month: count, people, outcomes, satisfaction rate."""
    low, high = _bounds(query)
    store = MediationStore(session)
    cases = store.closed_cases(str(query["street_id"]) if query.get("street_id") else None, low, high)
    parties: dict[str, list[PartyRating]] = defaultdict(list)
    if cases:
        for p in store.parties_of([c.id for c in cases]):
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
    store = MediationStore(session)
    ids = store.closed_ids(low, high)
    ratings = [PartyRating(p.people, p.rating) for p in store.parties_of(ids)] if ids else []
    rate = satisfaction_rate(ratings)
    return {"disputes_handled": len(ids), "dispute_satisfaction_rate": rate if rate is not None else 0.0}


def group_report(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Tickets per beneficiary group and month reported: services (cancelled excluded),
    completed, and reach (distinct residents; a ticket with no resident id counts one)."""
    low, high = _bounds(query)
    community_id = str(query["community_id"]) if query.get("community_id") else None
    stats: dict[tuple[str, str], dict[str, Any]] = {}
    for t in MediationStore(session).ticket_groups(community_id, low, high):
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
    return MediationStore(session).tickets_resolved(low, high)
