"""Deadlines, escalation, automatic confirmation and reports: the domain with a clock
in hand on a migrated database, and the auto-confirm timer in a running service."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from services.tickets import domain, reports, sla, work
from services.tickets.events import EVENTS
from services.tickets.models import Base
from services.tickets.visibility import visibility
from tests.tickets.district import build, ticket_body
from yilin.config import database_url as resolve_url
from yilin.db import UnitOfWork, engine_for
from yilin.identity import Identity
from yilin.migrations import upgrade
from yilin.pii import PersonalData

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Identity("op-1", "operator")
COMMUNITY = "11111111-1111-1111-1111-111111111111"
TEAM = {"id": "22222222-2222-2222-2222-222222222222", "code": "PRO", "professional": True}
PLAIN = {"id": "33333333-3333-3333-3333-333333333333", "code": "SUN", "professional": False}
MEMBER = "44444444-4444-4444-4444-444444444444"
MEMBERS = [{"volunteer_id": MEMBER, "status": "active"}]
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


class Clocked:
    """Domain calls in their own transactions, as the service makes them."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self.emitted: list[Any] = []

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        session = self.sessions()
        uow = UnitOfWork(session, EVENTS, None)
        try:
            result = fn(uow, *args, **kwargs)
            session.commit()
        finally:
            session.close()
        self.emitted += uow.events
        return result

    def read(self, fn: Any, *args: Any) -> Any:
        with self.sessions() as session:
            return fn(session, *args)

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e.data for e in self.emitted if e.type == event_type]


@pytest.fixture
def run(database_url: str) -> Iterator[Clocked]:
    url = resolve_url({"DATABASE_URL": database_url}, "tickets", environ={})
    upgrade("tickets", url, ROOT / "services" / "tickets" / "migrations")
    yield Clocked(sessionmaker(engine_for(url, "tickets"), expire_on_commit=False, info={"metadata": Base.metadata}))


def open_at(run: Clocked, when: datetime, code: str = "lost_key", **answers: Any) -> str:
    body = {
        "category_code": code,
        "community_id": COMMUNITY,
        "channel": "door_to_door",
        "resident_id": "r-1",
        "resident_name": "王大爷",
        "description": "需要帮助",
        "attributes": answers,
        "reported_at": when,
    }
    return run(domain.open_ticket, PersonalData("k"), OPERATOR, body, now=when)["id"]


def test_deadlines_breach_and_escalate_once(run: Clocked) -> None:
    late = open_at(run, T0)  # lost_key: assign within 30 min, resolve within 240
    worked = open_at(run, T0)
    run(
        work.assign,
        OPERATOR,
        worked,
        {"team_id": TEAM["id"], "volunteer_ids": [MEMBER]},
        PLAIN,
        MEMBERS,
        now=T0 + timedelta(minutes=10),
    )
    run(work.start, OPERATOR, worked, {}, now=T0 + timedelta(minutes=20))
    dispute = open_at(run, T0, "neighbour_dispute", kind="noise")

    first = run(sla.sweep_deadlines, now=T0 + timedelta(minutes=15))
    assert [(o["ticket_id"], o["escalated"], o["breaches"]) for o in first] == [(dispute, "dispute", [])]
    second = {o["ticket_id"]: o for o in run(sla.sweep_deadlines, now=T0 + timedelta(minutes=45))}
    assert set(second) == {late} and second[late]["breaches"] == ["assign"]
    assert second[late]["escalated"] == "overdue_assign"
    # the dispute is with a professional team now; its resolve deadline (7 days) is far
    run(
        work.assign,
        OPERATOR,
        dispute,
        {"team_id": TEAM["id"], "volunteer_ids": [MEMBER]},
        TEAM,
        MEMBERS,
        now=T0 + timedelta(hours=1),
    )
    third = {o["ticket_id"]: o for o in run(sla.sweep_deadlines, now=T0 + timedelta(hours=5))}
    assert third[worked]["escalated"] == "overdue_resolve" and third[worked]["breaches"] == ["resolve"]
    assert third[late]["breaches"] == ["resolve"] and third[late]["escalated"] is None  # escalated already
    assert dispute not in third
    assert run(sla.sweep_deadlines, now=T0 + timedelta(days=30)) == [
        {"ticket_id": dispute, "category": "neighbour_dispute", "breaches": ["resolve"], "escalated": None}
    ]
    assert run(sla.sweep_deadlines, now=T0 + timedelta(days=31)) == []
    reasons = sorted(e["reason"] for e in run.of_type("ticket.escalated"))
    assert reasons == ["dispute", "overdue_assign", "overdue_resolve"]

    counts = run.read(sla.open_counts)
    assert counts[("escalated", "lost_key")] == 2 and counts[("assigned", "neighbour_dispute")] == 1
    assert counts[("opened", "utility_bills")] == 0


def test_auto_confirm_and_report(run: Clocked) -> None:
    ratings = [5, 3, 4, None]
    ids = []
    for i, rating in enumerate(ratings):
        ticket = open_at(run, T0 + timedelta(minutes=i), "blocked_drain", location="kitchen")
        run(
            work.assign,
            OPERATOR,
            ticket,
            {"team_id": TEAM["id"], "volunteer_ids": [MEMBER]},
            PLAIN,
            MEMBERS,
            now=T0 + timedelta(minutes=10 * (i + 1)),
        )
        run(work.start, OPERATOR, ticket, {}, now=T0 + timedelta(hours=1))
        run(
            work.resolve,
            OPERATOR,
            ticket,
            {"volunteers": [{"volunteer_id": MEMBER, "minutes": 60}]},
            now=T0 + timedelta(hours=2),
        )
        if rating:
            run(work.confirm, OPERATOR, ticket, {"rating": rating}, now=T0 + timedelta(hours=3))
        ids.append(ticket)
    cancelled = open_at(run, T0, "blocked_drain", location="bathroom")
    run(work.cancel, OPERATOR, cancelled, {}, now=T0 + timedelta(minutes=5))

    resolved_at = T0 + timedelta(hours=2)
    assert run(sla.auto_confirm, 7, now=resolved_at + timedelta(days=6)) == []
    assert run(sla.auto_confirm, 7, now=resolved_at + timedelta(days=8)) == [ids[3]]
    assert run(sla.auto_confirm, 7, now=resolved_at + timedelta(days=9)) == []
    [auto] = [e for e in run.of_type("ticket.confirmed") if e["automatic"]]
    assert auto == {
        "ticket_id": ids[3],
        "community_id": COMMUNITY,
        "category_code": "blocked_drain",
        "rating": None,
        "automatic": True,
    }
    ticket = run.read(domain.get_ticket, visibility(OPERATOR), ids[3])
    assert ticket["state"] == "confirmed" and ticket["auto_confirmed"] and ticket["rating"] is None

    [row] = run.read(reports.report, {"from_month": "2026-11", "to_month": "2026-11"})
    assert row["total"] == 5 and row["by_state"]["confirmed"] == 4 and row["by_state"]["cancelled"] == 1
    assert row["median_minutes_to_assign"] == 19  # 10, 19, 28, 37 minutes after each report (lower median)
    assert row["median_minutes_to_resolve"] == 118
    assert row["sla_breach_rate"] == 0  # blocked_drain: 120 minutes to assign, a day to resolve
    assert row["mean_rating"] == 4.0 and row["share_satisfied"] == round(2 / 3, 4) and row["ratings"] == 3
    assert run.read(reports.report, {"from_month": "2026-12"}) == []


def test_the_timer_auto_confirms_in_a_running_service(stack: Any, tap: Any) -> None:
    s = stack("registry", "tickets", TICKETS_AUTO_CONFIRM_DAYS=0, TICKETS_AUTO_CONFIRM_INTERVAL=0.2)
    events = tap("tickets")
    with s.rpc("registry") as registry:
        district = build(registry)
    with s.rpc("tickets") as tickets:
        ticket = tickets.open_ticket(ticket_body(district))
        tickets.assign(ticket["id"], {"team_id": district.team["id"], "volunteer_ids": district.members})
        tickets.start(ticket["id"], {})
        tickets.resolve(ticket["id"], {"volunteers": [{"volunteer_id": district.members[1], "minutes": 30}]})
        [confirmed] = events.wait_for("ticket.confirmed", timeout=20)
        assert confirmed["data"]["automatic"] is True and confirmed["data"]["rating"] is None
        after = tickets.get_ticket(ticket["id"])
        assert after["state"] == "confirmed" and after["auto_confirmed"]
        assert tickets.ticket_history(ticket["id"])[-1]["actor"] == "service:tickets"  # a named account
