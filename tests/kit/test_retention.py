"""``yilin retention`` through the real command line, on SQLite and PostgreSQL: old sent
outbox rows, old inbox ids and old answered write claims go, unsent, unanswered and recent
rows stay, and the audit rows past their retention are in the archive file and nowhere
else. On PostgreSQL a claim whose row is locked, or not yet committed, stays too."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from yilin import migrations
from yilin.audit import time_ordered_id
from yilin.config import database_url as service_url
from yilin.db import engine_for
from yilin.rpc import DEFAULT_WRITE_TIMEOUT
from yilinctl import retention
from yilinctl.cli import main, migrations_dir

SERVICE = "hours"
NOW = datetime.now(timezone.utc)


def _engine(database_url: str) -> Any:
    url = service_url({"DATABASE_URL": database_url}, SERVICE, environ={})
    migrations.upgrade(SERVICE, url, migrations_dir(SERVICE))
    return engine_for(url, SERVICE)


def _seed(engine: Any) -> dict[str, list[str]]:
    """Rows on both sides of the default windows (outbox 14 days, inbox 15, audit 400,
    rpc_requests 14)."""
    tables = retention.kit_tables()
    ids: dict[str, list[str]] = {k: [] for k in ("old_sent", "old_unsent", "new_sent", "old_inbox", "new_inbox")}
    ids |= {"old_audit": [], "new_audit": [], "old_answered": [], "old_unanswered": [], "new_answered": []}
    outbox, inbox, audit = tables["outbox"], tables["inbox"], tables["audit"]
    with engine.begin() as conn:
        for kind, age, answer in (("old_answered", 30, '{"id": 1}'), ("old_unanswered", 30, None)):
            for _ in range(7):
                ids[kind].append(_claim(conn, age, answer))
        for _ in range(7):
            ids["new_answered"].append(_claim(conn, 2, "null"))  # a write that answered None
        for kind, age, sent in (("old_sent", 30, True), ("old_unsent", 30, False), ("new_sent", 2, True)):
            for _ in range(7):
                row_id = str(uuid.uuid4())
                ids[kind].append(row_id)
                when = NOW - timedelta(days=age)
                message = {"id": row_id, "type": "hours.recorded"}
                conn.execute(
                    insert(outbox).values(
                        id=row_id,
                        type="hours.recorded",
                        version=1,
                        message=message,
                        created_at=when,
                        sent_at=when if sent else None,
                    )
                )
        for kind, age in (("old_inbox", 20), ("new_inbox", 10)):
            for _ in range(7):
                event_id = str(uuid.uuid4())
                ids[kind].append(event_id)
                conn.execute(
                    insert(inbox).values(
                        event_id=event_id, type="ticket.resolved", handled_at=NOW - timedelta(days=age)
                    )
                )
        for kind, age in (("old_audit", 500), ("new_audit", 30)):
            for n in range(7):
                row_id = time_ordered_id()
                ids[kind].append(row_id)
                conn.execute(
                    insert(audit).values(
                        id=row_id,
                        occurred_at=NOW - timedelta(days=age, minutes=n),
                        actor_subject="service:tickets",
                        actor_role="service",
                        action="hours.recorded",
                        entity_ids=[str(uuid.uuid4())],
                        event_ids=[str(uuid.uuid4())],
                        correlation_id=f"c-{n}",
                    )
                )
    return ids


def _claim(conn: Any, age: float, answer: str | None) -> str:
    """One ``rpc_requests`` row created ``age`` days ago; returns its key."""
    key = str(uuid.uuid4())
    conn.execute(
        insert(retention.kit_tables()["rpc_requests"]).values(
            caller="user:ops",
            key=key,
            method="hours.record",
            body_hash="0" * 64,
            answer=answer,
            created_at=NOW - timedelta(days=age),
        )
    )
    return key


def _keys(engine: Any, name: str) -> set[str]:
    table = retention.kit_tables()[name]
    key = table.c[{"inbox": "event_id", "rpc_requests": "key"}.get(name, "id")]
    with engine.connect() as conn:
        return set(conn.execute(select(key)).scalars())


def _cli(database_url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["retention", SERVICE, *args], env={"YILIN_DATABASE_URL": database_url})


def test_retention_prunes_old_rows_and_archives_audit(database_url: str, tmp_path: Path) -> None:
    engine = _engine(database_url)
    ids = _seed(engine)
    archive_dir = tmp_path / "archive"
    # batch 3: every table needs several batches, and the last one is partial
    result = _cli(database_url, "--archive-dir", str(archive_dir), "--batch", "3", "--vacuum")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output.strip().splitlines()[-1])
    assert (outcome["outbox_pruned"], outcome["inbox_pruned"], outcome["audit_archived"]) == (7, 7, 7)
    assert outcome["rpc_requests_pruned"] == 7
    vacuumed = ["outbox", "inbox", "audit", "rpc_requests"]
    assert outcome["vacuumed"] == (vacuumed if database_url.startswith("postgresql") else [])

    assert _keys(engine, "outbox") == set(ids["old_unsent"]) | set(ids["new_sent"])
    assert _keys(engine, "inbox") == set(ids["new_inbox"])
    assert _keys(engine, "audit") == set(ids["new_audit"])
    # old answered claims go; a claim without its answer stays, however old
    assert _keys(engine, "rpc_requests") == set(ids["old_unanswered"]) | set(ids["new_answered"])

    archived = [json.loads(line) for line in Path(outcome["archive"]).read_text().splitlines()]
    assert [row["id"] for row in archived] == sorted(ids["old_audit"])  # oldest first, each once
    first = archived[0]
    assert first["actor_subject"] == "service:tickets" and first["action"] == "hours.recorded"
    assert first["occurred_at"].endswith("Z") and len(first["entity_ids"]) == 1

    # A second run finds nothing more to do and writes no archive.
    again = json.loads(_cli(database_url, "--archive-dir", str(archive_dir)).output.strip().splitlines()[-1])
    assert (again["outbox_pruned"], again["inbox_pruned"], again["audit_archived"], again["archive"]) == (0, 0, 0, None)
    assert again["rpc_requests_pruned"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(retention.kit_tables()["outbox"])).scalar() == 14


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--outbox-days", "1"], "outbox_days=1"),
        (["--inbox-days", "3"], "inbox_days=3"),
        (["--audit-days", "2"], "audit_days=2"),
        (["--outbox-days", "30", "--inbox-days", "20"], "inbox_days=20"),
        (["--rpc-days", "2"], "rpc_days=2"),
    ],
)
def test_retention_refuses_unsafe_windows(args: list[str], named: str, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/{{service}}.db"
    engine = _engine(database_url)
    ids = _seed(engine)
    result = _cli(database_url, "--archive-dir", str(tmp_path / "a"), *args)
    assert result.exit_code == 2 and named in result.output, result.output
    assert _keys(engine, "outbox") == set(ids["old_sent"]) | set(ids["old_unsent"]) | set(ids["new_sent"])
    assert len(_keys(engine, "rpc_requests")) == 21
    assert not (tmp_path / "a").exists()


def test_the_rpc_window_outlasts_every_repeat_of_a_write() -> None:
    """The floor of the rpc_requests window is longer than the gateway remembers an
    Idempotency-Key (after which a client's retry reaches the service again) plus the
    write timeout: pruning never forgets a write someone may still repeat."""
    from services.gateway.idempotency import KEEP

    floor = timedelta(days=retention.RPC_MIN_DAYS)
    assert floor > KEEP + timedelta(seconds=2 * DEFAULT_WRITE_TIMEOUT)
    assert retention.Policy().rpc_days >= retention.RPC_MIN_DAYS


def test_retention_leaves_a_claim_in_flight(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL: an old claim whose row another transaction holds locked (a second
    delivery working on it) and a claim not yet committed both stay; the other old
    answered claim goes."""
    engine = _engine(pg_url)
    table = retention.kit_tables()["rpc_requests"]
    with engine.begin() as conn:
        locked, free = _claim(conn, 30, '"first"'), _claim(conn, 30, '"first"')
    with engine.connect() as holder, engine.connect() as writer:
        holding = holder.begin()
        holder.execute(select(table.c.key).where(table.c.key == locked).with_for_update())
        writing = writer.begin()
        uncommitted = _claim(writer, 30, None)  # a claim whose write is still running
        outcome = retention.run(engine, SERVICE, retention.Policy(), tmp_path / "archive")
        assert outcome.rpc_requests_pruned == 1
        writer.execute(update(table).where(table.c.key == uncommitted).values(answer='"done"'))
        writing.commit()
        holding.commit()
    assert _keys(engine, "rpc_requests") == {locked, uncommitted}
    assert free not in _keys(engine, "rpc_requests")
