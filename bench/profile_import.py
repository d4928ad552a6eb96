"""Where a batch of the volunteer import spends its time, without nameko or a broker in
the way: ``python -m bench.profile_import [BATCHES] [--pyinstrument]``.

Runs the registry's ``import_volunteers`` in the kit's own transaction
(``DatabaseAccess.transaction``: outbox rows, audit row, commit; publishing left out)
batch by batch, 1,000 rows each as ``yilin import`` sends them, in this process against
a fresh database, and prints per batch: wall time, SQL statements and their round trips
by statement, and this process's CPU time (steadier than wall time on a busy machine),
in the import and in the transaction's end; with ``--pyinstrument``, the call tree too."""

from __future__ import annotations

import random
import sys
import time
from types import SimpleNamespace

from sqlalchemy.orm import sessionmaker

from bench import seed
from bench.district import IMPORT_BATCH
from bench.environment import Environment
from bench.profiling import count_sql, measured
from yilin.db import DatabaseAccess, engine_for
from yilin.identity import service_account
from yilin.pii import PersonalData


def main() -> None:
    from services.registry import volunteers
    from services.registry.events import EVENTS
    from services.registry.models import Base, Place

    batches = int(next((a for a in sys.argv[1:] if a.isdigit()), "10"))
    with Environment.create() as env:
        env.migrate("registry")
        engine = engine_for(env.database_url, "registry")
        sessions = sessionmaker(engine, expire_on_commit=False, info={"metadata": Base.metadata})
        with sessions() as session:
            district = Place(code="D", name="D", level="district")
            session.add(district)
            session.flush()
            communities = [
                Place(code=f"C{i}", name=f"C{i}", level="community", parent_id=district.id) for i in range(10)
            ]
            session.add_all(communities)
            session.commit()
            community_ids = [c.id for c in communities]
        sql = count_sql(engine)

        provider = SimpleNamespace(
            sessions=sessions,
            catalogue=EVENTS,
            relay=SimpleNamespace(publish_committed=lambda envelopes, bodies=None: None),
        )
        db = DatabaseAccess(provider, None, service_account("bench"), "import_volunteers")  # type: ignore[arg-type]  # no worker context in a profile
        pii = PersonalData("profile-import")
        base = random.randrange(10**6, 10**12)
        payloads = [seed.volunteer_rows(base + b * IMPORT_BATCH, IMPORT_BATCH, community_ids) for b in range(batches)]
        steps = {"import_volunteers": 0.0, "outbox, audit and commit": 0.0}
        created = 0
        with measured("--pyinstrument" in sys.argv) as took:
            for rows in payloads:
                with db.transaction() as uow:
                    step = time.process_time()
                    created += volunteers.import_volunteers(uow, pii, rows)["created"]
                    ended = time.process_time()
                    steps["import_volunteers"] += ended - step
                steps["outbox, audit and commit"] += time.process_time() - ended
        engine.dispose()
    n = len(payloads)
    print(
        f"{created} volunteers in {n} batches: {created / took.wall:.0f} rows/s on one connection; per batch "
        f"{1000 * took.wall / n:.0f} ms, {sql.statements / n:.1f} statements taking {1000 * sql.seconds / n:.0f} ms, "
        f"the rest (Python, commit) {1000 * (took.wall - sql.seconds) / n:.0f} ms; "
        f"CPU of this process {1000 * took.cpu / n:.0f} ms"
    )
    print("  CPU per batch: " + ", ".join(f"{name} {1000 * seconds / n:.0f} ms" for name, seconds in steps.items()))
    for key, seconds in sorted(sql.by_statement.items(), key=lambda item: -item[1]):
        print(f"  {1000 * seconds / n:6.1f} ms per batch  {key}")


if __name__ == "__main__":
    main()
