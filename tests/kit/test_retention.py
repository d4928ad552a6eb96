"""``yilin retention`` through the real command line, on SQLite and PostgreSQL: old sent
outbox rows and old inbox ids go, unsent and recent rows stay, and the audit rows past
their retention are in the archive file and nowhere else."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from yilin import migrations
from yilin.audit import time_ordered_id
from yilin.config import database_url as service_url
from yilin.db import engine_for
from yilinctl import retention
from yilinctl.cli import main, migrations_dir

SERVICE = "hours"
NOW = datetime.now(timezone.utc)


def _engine(database_url: str) -> Any:
    url = service_url({"DATABASE_URL": database_url}, SERVICE, environ={})
    migrations.upgrade(SERVICE, url, migrations_dir(SERVICE))
    return engine_for(url, SERVICE)


def _seed(engine: Any) -> dict[str, list[str]]:
    """Rows on both sides of the default windows (outbox 14 days, inbox 15, audit 400)."""
    tables = retention.kit_tables()
    ids: dict[str, list[str]] = {k: [] for k in ("old_sent", "old_unsent", "new_sent", "old_inbox", "new_inbox")}
    ids |= {"old_audit": [], "new_audit": []}
    outbox, inbox, audit = tables["outbox"], tables["inbox"], tables["audit"]
    with engine.begin() as conn:
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


def _keys(engine: Any, name: str) -> set[str]:
    table = retention.kit_tables()[name]
    key = table.c.event_id if name == "inbox" else table.c.id
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
    assert outcome["vacuumed"] == (["outbox", "inbox", "audit"] if database_url.startswith("postgresql") else [])

    assert _keys(engine, "outbox") == set(ids["old_unsent"]) | set(ids["new_sent"])
    assert _keys(engine, "inbox") == set(ids["new_inbox"])
    assert _keys(engine, "audit") == set(ids["new_audit"])

    archived = [json.loads(line) for line in Path(outcome["archive"]).read_text().splitlines()]
    assert [row["id"] for row in archived] == sorted(ids["old_audit"])  # oldest first, each once
    first = archived[0]
    assert first["actor_subject"] == "service:tickets" and first["action"] == "hours.recorded"
    assert first["occurred_at"].endswith("Z") and len(first["entity_ids"]) == 1

    # A second run finds nothing more to do and writes no archive.
    again = json.loads(_cli(database_url, "--archive-dir", str(archive_dir)).output.strip().splitlines()[-1])
    assert (again["outbox_pruned"], again["inbox_pruned"], again["audit_archived"], again["archive"]) == (0, 0, 0, None)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(retention.kit_tables()["outbox"])).scalar() == 14


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--outbox-days", "1"], "outbox_days=1"),
        (["--inbox-days", "3"], "inbox_days=3"),
        (["--audit-days", "2"], "audit_days=2"),
        (["--outbox-days", "30", "--inbox-days", "20"], "inbox_days=20"),
    ],
)
def test_retention_refuses_unsafe_windows(args: list[str], named: str, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/{{service}}.db"
    engine = _engine(database_url)
    ids = _seed(engine)
    result = _cli(database_url, "--archive-dir", str(tmp_path / "a"), *args)
    assert result.exit_code == 2 and named in result.output, result.output
    assert _keys(engine, "outbox") == set(ids["old_sent"]) | set(ids["old_unsent"]) | set(ids["new_sent"])
    assert not (tmp_path / "a").exists()
