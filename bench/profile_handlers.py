"""Where an event's time goes in the hours handlers, without nameko or a broker in the
way: ``python -m bench.profile_handlers [TICKETS] [--pyinstrument]``.

Runs the ``ticket.resolved``/``ticket.confirmed`` handlers' kit and domain steps (inbox
claim, ledger, outbox, commit) one event at a time in this process against a fresh
database, and prints per event: wall time, SQL statements, time in SQL round trips and
in the commit and this process's CPU time (steadier than wall time on a busy machine); with ``--pyinstrument``, the call tree too."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from bench.environment import Environment
from bench.pipeline import ticket_events
from yilin.db import UnitOfWork, engine_for
from yilin.events import parse_envelope


def main() -> None:
    from services.hours import consumed, ledger
    from services.hours.events import EVENTS
    from services.hours.models import Base
    from services.hours.settings import DEFAULT_STAR_HOURS

    tickets = int(next((a for a in sys.argv[1:] if a.isdigit()), "300"))
    stars = [h * 60 for h in DEFAULT_STAR_HOURS]
    with Environment.create() as env:
        env.migrate("hours")
        engine = engine_for(env.database_url, "hours")
        sql = {"statements": 0, "seconds": 0.0}

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            context._bench_started = time.perf_counter()
            sql["statements"] += 1

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            sql["seconds"] += time.perf_counter() - context._bench_started

        sessions = sessionmaker(engine, expire_on_commit=False, info={"metadata": Base.metadata})
        events = [parse_envelope(e) for e in ticket_events(tickets, datetime.now(timezone.utc))]
        profiler = None
        if "--pyinstrument" in sys.argv:
            import pyinstrument

            profiler = pyinstrument.Profiler()
            profiler.start()
        commit = 0.0
        cpu = time.process_time()
        began = time.perf_counter()
        for envelope in events:
            uow = UnitOfWork(sessions(), EVENTS, envelope.correlation_id)
            uow.claim(envelope)
            if envelope.type == "ticket.resolved":
                data = consumed.read(consumed.TicketResolved, envelope.type, envelope.data)
                ledger.ticket_resolved(uow, data, envelope.occurred_at, stars)
            else:
                data = consumed.read(consumed.TicketConfirmed, envelope.type, envelope.data)
                ledger.ticket_confirmed(uow, data, envelope.occurred_at, stars)
            uow.write_outbox()
            started = time.perf_counter()
            uow.session.commit()
            commit += time.perf_counter() - started
            uow.session.close()
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text())
        engine.dispose()
    n = len(events)
    print(f"{n} events: {n / elapsed:.0f} events/s on one connection; per event {1000 * elapsed / n:.2f} ms, "
          f"{sql['statements'] / n:.1f} statements taking {1000 * sql['seconds'] / n:.2f} ms, "
          f"commit {1000 * commit / n:.2f} ms, the rest (Python) {1000 * (elapsed - sql['seconds'] - commit) / n:.2f} ms; "
          f"CPU of this process {1000 * cpu / n:.2f} ms")


if __name__ == "__main__":
    main()
