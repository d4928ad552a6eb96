"""Suggestions (益邻·心声): collecting, merging, answering, linking, escalating and the
report by topic, over a unit of work. The rules come from
:mod:`services.tickets.voice_rules`, every statement from
:class:`~services.tickets.store.voice.SuggestionStore`; the entrypoints authorise before
calling."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy.orm import Session

from services.tickets.models import Suggestion, SuggestionLink, SuggestionResident, utcnow
from services.tickets.rules import aware
from services.tickets.store.voice import SuggestionStore
from services.tickets.voice_rules import (
    ANSWER_DAYS,
    Reach,
    VoiceRuleError,
    answer_due,
    answered_on_time,
    check_answer,
    check_link,
    check_merge,
    mask_name,
    month_of,
    overdue,
    within,
)
from yilin.db import UnitOfWork
from yilin.errors import Conflict, Forbidden, InvalidInput
from yilin.identity import Identity
from yilin.paging import page
from yilin.pii import PersonalData, mask_phone


def refused(error: VoiceRuleError) -> Conflict:
    return Conflict(error.message, {error.field: [error.message]})


def _ref(s: Suggestion) -> dict[str, Any]:
    return {"suggestion_id": s.id, "community_id": s.community_id, "topic": s.topic}


def suggestion_row(session: Session, suggestion_id: Any, lock: bool = False) -> Suggestion:
    """The suggestion (its row locked until the transaction ends with ``lock``), or 404."""
    return SuggestionStore(session).suggestion(suggestion_id, lock)


def views(session: Session, rows: Sequence[Suggestion], reduced: bool = False) -> list[dict[str, Any]]:
    """Suggestions with their residents and links (two queries for the lot). ``reduced``
    leaves the residents' masked contacts out (a resident reading the list)."""
    ids = [s.id for s in rows]
    residents: dict[str, list[dict[str, Any]]] = defaultdict(list)
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        store = SuggestionStore(session)
        for r in store.residents_of(ids):
            residents[r.suggestion_id].append(
                {
                    "resident_id": None if reduced else r.resident_id,
                    "name": r.name_masked,
                    "phone": None if reduced else r.phone_masked,
                    "raised_in_id": r.raised_in_id,
                    "raised_at": aware(r.raised_at),
                }
            )
        for link in store.links_of(ids):
            links[link.suggestion_id].append(
                {"kind": link.kind, "target_id": link.target_id, "linked_at": aware(link.linked_at)}
            )
    return [
        {
            "id": s.id,
            "community_id": s.community_id,
            "topic": s.topic,
            "channel": s.channel,
            "content": s.content,
            "state": s.state,
            "collected_by": s.collected_by,
            "merged_into_id": s.merged_into_id,
            "collected_at": aware(s.collected_at),
            "answer_due_at": aware(s.answer_due_at),
            "answered_at": aware(s.answered_at),
            "answer": s.answer,
            "acted_at": aware(s.acted_at),
            "escalated_at": aware(s.escalated_at),
            "residents": residents[s.id],
            "links": links[s.id],
        }
        for s in rows
    ]


def view(session: Session, row: Suggestion) -> dict[str, Any]:
    return views(session, [row])[0]


def check_reach(session: Session, r: Reach, row: Suggestion) -> None:
    """Refuse a suggestion outside the caller's reach (:func:`voice_rules.within`)."""
    residents = SuggestionStore(session).resident_ids(row.id)
    if not within(r, row.community_id, row.collected_by, residents):
        raise Forbidden("this suggestion is not yours to see", {"suggestion_id": ["not within your reach"]})


# -- writes -------------------------------------------------------------------------
def collect(
    uow: UnitOfWork,
    pii: PersonalData,
    caller: Identity,
    data: dict[str, Any],
    answer_days: float = ANSWER_DAYS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write a suggestion down: online by the resident, door to door by a volunteer or cadre."""
    now = now or utcnow()
    resident = data["resident"]
    resident_id = resident.get("resident_id")
    if caller.role == "resident":
        if data["channel"] != "online":
            raise InvalidInput("a resident's own suggestion comes in online", {"channel": ["must be online"]})
        if resident_id not in (None, caller.subject):
            raise Forbidden("a resident raises suggestions for themselves", {"resident_id": ["must be your own"]})
        resident_id = caller.subject
    elif data["channel"] == "online":
        raise InvalidInput("staff collect suggestions door to door", {"channel": ["must be door_to_door"]})
    row = Suggestion(
        community_id=str(data["community_id"]),
        topic=data["topic"],
        channel=data["channel"],
        content=data["content"],
        state="open",
        collected_by=caller.subject,
        collected_by_role=caller.role,
        collected_at=now,
        answer_due_at=answer_due(now, answer_days),
        created_at=now,
    )
    store = SuggestionStore(uow.session)
    store.add(row)
    phone = resident.get("phone")
    store.add_resident(
        SuggestionResident(
            suggestion_id=row.id,
            raised_in_id=row.id,
            resident_id=resident_id,
            name_masked=mask_name(resident["name"]),
            phone_masked=mask_phone(phone) if phone else None,
            phone_encrypted=pii.encrypt(phone) if phone else None,
            raised_at=now,
        )
    )
    uow.emit("suggestion.collected", {**_ref(row), "channel": row.channel, "answer_due_at": row.answer_due_at})
    return view(uow.session, row)


def merge(uow: UnitOfWork, suggestion_id: Any, into_id: Any) -> dict[str, Any]:
    """Merge a repeat into the earlier suggestion; every resident who raised it is kept."""
    session = uow.session
    first, second = sorted((str(suggestion_id), str(into_id)))  # lock in one order: no deadlock between two merges
    rows = {i: suggestion_row(session, i, lock=True) for i in (first, second)} if first != second else {}
    source = rows.get(str(suggestion_id)) or suggestion_row(session, suggestion_id)
    target = rows.get(str(into_id)) or suggestion_row(session, into_id)
    try:
        check_merge(source.id, source.state, target.id, target.state)
    except VoiceRuleError as error:
        raise refused(error) from None
    if source.community_id != target.community_id:
        raise InvalidInput("a repeat is merged within its community", {"into_id": ["another community's"]})
    store = SuggestionStore(session)
    store.move_raisers(source.id, target.id)
    source.state, source.merged_into_id = "merged", target.id
    store.flush()
    count = store.resident_count(target.id)
    uow.emit("suggestion.merged", {**_ref(source), "into_id": target.id, "residents": count})
    return view(session, target)


def answer(
    uow: UnitOfWork, caller: Identity, suggestion_id: Any, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    row = suggestion_row(uow.session, suggestion_id, lock=True)
    try:
        check_answer(row.state)
    except VoiceRuleError as error:
        raise refused(error) from None
    row.state, row.answer, row.answered_at, row.answered_by = "answered", data["answer"], now, caller.subject
    on_time = answered_on_time(now, aware(row.answer_due_at) or now)
    uow.emit("suggestion.answered", {**_ref(row), "on_time": on_time})
    return view(uow.session, row)


def link(
    uow: UnitOfWork, caller: Identity, suggestion_id: Any, kind: str, target_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Record what the suggestion turned into (once per target)."""
    now = now or utcnow()
    session = uow.session
    row = suggestion_row(session, suggestion_id, lock=True)
    try:
        check_link(row.state)
    except VoiceRuleError as error:
        raise refused(error) from None
    store = SuggestionStore(session)
    if not store.has_link(row.id, kind, target_id):
        store.add_link(
            SuggestionLink(
                suggestion_id=row.id, kind=kind, target_id=target_id, linked_by=caller.subject, linked_at=now
            )
        )
        row.acted_at = row.acted_at or now
        uow.emit("suggestion.linked", {**_ref(row), "kind": kind, "target_id": target_id})
    store.flush()
    return view(session, row)


def sweep_overdue(uow: UnitOfWork, now: datetime | None = None, batch: int = 200) -> list[str]:
    """Escalate open suggestions past their answer deadline, each once (rows claimed with
    ``FOR UPDATE SKIP LOCKED`` as the tickets' timer does)."""
    now = now or utcnow()
    claimed = SuggestionStore(uow.session).claim_overdue(now, batch)
    rows = [r for r in claimed if overdue(r.state, aware(r.answer_due_at) or now, r.escalated_at is not None, now)]
    for row in rows:
        row.escalated_at = now
        uow.emit("suggestion.escalated", {**_ref(row), "answer_due_at": aware(row.answer_due_at)})
    return [r.id for r in rows]


# -- reads --------------------------------------------------------------------------
def list_suggestions(session: Session, r: Reach, query: dict[str, Any]) -> dict[str, Any]:
    rows = SuggestionStore(session).page(r, query)
    reduced = r.resident is not None
    return page(rows, query["limit"], lambda s: s.id, lambda chunk: views(session, chunk, reduced))


def _bounds(query: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    def start(month: str) -> datetime:
        year, mon = (int(p) for p in month.split("-"))
        return datetime(year, mon, 1, tzinfo=timezone.utc)

    low = start(query["from_month"]) if query.get("from_month") else None
    high = None
    if query.get("to_month"):
        year, mon = (int(p) for p in query["to_month"].split("-"))
        high = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=timezone.utc)
    return low, high


def report(session: Session, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Per community × topic × month of collection: collected, residents, merged, answered
    (on time), acted on, median hours to answer."""
    low, high = _bounds(query)
    store = SuggestionStore(session)
    rows = store.collected(str(query["community_id"]) if query.get("community_id") else None, low, high)
    residents = store.residents_per_raise()
    groups: dict[tuple[str, str, str], list[Suggestion]] = defaultdict(list)
    for s in rows:
        groups[(s.community_id, s.topic, month_of(s.collected_at))].append(s)
    out = []
    for (community_id, topic, month), items in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        answered = [s for s in items if s.answered_at is not None]
        hours = [int((aware(s.answered_at) - aware(s.collected_at)).total_seconds() // 3600) for s in answered]  # type: ignore[operator]  # both set on answered rows
        out.append(
            {
                "community_id": community_id,
                "topic": topic,
                "month": month,
                "collected": len(items),
                "residents": sum(residents.get(s.id, 0) for s in items),
                "merged": sum(s.state == "merged" for s in items),
                "answered": len(answered),
                "answered_on_time": sum(
                    answered_on_time(aware(s.answered_at), aware(s.answer_due_at)) for s in answered
                ),  # type: ignore[arg-type]  # due is never null
                "acted_on": sum(s.acted_at is not None for s in items),
                "median_hours_to_answer": statistics.median_low(hours) if hours else None,
            }
        )
    return out


def indicator_counts(session: Session, low: datetime | None, high: datetime | None) -> dict[str, int]:
    """Suggestions collected and answered in the period [low, high)."""
    return SuggestionStore(session).indicator_counts(low, high)


def ticket_exists(session: Session, ticket_id: str) -> bool:
    return SuggestionStore(session).ticket_exists(ticket_id)
