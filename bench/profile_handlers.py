"""Where an event's time goes in the hours handlers, without nameko or a broker in the
way: ``python -m bench.profile_handlers [TICKETS] [--batch N] [--pyinstrument]``.

Runs the hours service's own ``ticket.resolved`` and ``ticket.confirmed`` handlers
through the kit's transaction path (inbox claims, ledger, outbox, audit, commit), N
events per transaction as the batching consumer would (all resolutions, then all
confirmations), in this process against a fresh database, and prints per event: wall
time, SQL statements, time in SQL round trips and in the commit and this process's CPU
time (steadier than wall time on a busy machine); with ``--pyinstrument``, the call
tree too."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy.orm import sessionmaker

from bench.environment import Environment
from bench.pipeline import ticket_events
from bench.profiling import count_sql, measured
from yilin.db import Database, DatabaseAccess, engine_for
from yilin.events import parse_envelope
from yilin.identity import service_account


def main() -> None:
    from services.hours.events import EVENTS
    from services.hours.models import Base
    from services.hours.service import HoursService
    from services.hours.settings import DEFAULT_STAR_HOURS

    args = sys.argv[1:]
    tickets = int(
        next((a for a in args if a.isdigit() and (args.index(a) == 0 or args[args.index(a) - 1] != "--batch")), "300")
    )
    batch = int(args[args.index("--batch") + 1]) if "--batch" in args else 1
    with Environment.create() as env:
        env.migrate("hours")
        engine = engine_for(env.database_url, "hours")
        sql = count_sql(engine)
        provider = Database(Base.metadata, EVENTS)
        provider.engine = engine
        provider.sessions = sessionmaker(engine, expire_on_commit=False, info={"metadata": Base.metadata})
        provider.relay = SimpleNamespace(publish_committed=lambda events, bodies=None: None)  # no broker here
        service = SimpleNamespace(
            name="hours", settings=SimpleNamespace(star_minutes=[h * 60 for h in DEFAULT_STAR_HOURS])
        )
        database = DatabaseAccess(provider, None, service_account("bench"))
        handlers = {
            "ticket.resolved": HoursService.on_ticket_resolved,
            "ticket.confirmed": HoursService.on_ticket_confirmed,
        }
        events = [parse_envelope(e) for e in ticket_events(tickets, datetime.now(timezone.utc))]
        ordered = [e for e in events if e.type == "ticket.resolved"] + [
            e for e in events if e.type == "ticket.confirmed"
        ]
        with measured("--pyinstrument" in args) as took:
            for first in range(0, len(ordered), batch):
                chunk = ordered[first : first + batch]
                chunk = [e for e in chunk if e.type == chunk[0].type]
                outcomes = handlers[chunk[0].type].apply_batch(service, database, chunk)
                assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
        engine.dispose()
    n = len(ordered)
    print(
        f"{n} events, {batch} per transaction: {n / took.wall:.0f} events/s on one connection; per event "
        f"{1000 * took.wall / n:.2f} ms, {sql.statements / n:.2f} statements taking {1000 * sql.seconds / n:.2f} ms, "
        f"the rest (Python) {1000 * (took.wall - sql.seconds) / n:.2f} ms; CPU of this process {1000 * took.cpu / n:.2f} ms"
    )


if __name__ == "__main__":
    main()
