"""``yilin.bulk.insert_rows`` stores exactly what an ``INSERT`` would, on both backends."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilin.bulk import insert_rows
from yilin.db import engine_for


def test_insert_rows_round_trips_every_type_and_surfaces_conflicts(database_url: str) -> None:
    engine = engine_for(database_url.format(service="bulk"), "public")
    table = Table(
        "bulk_rows",
        MetaData(),
        Column("id", String(36), primary_key=True),
        Column("name", String(100)),
        Column("flag", Boolean),
        Column("born", Date, nullable=True),
        Column("body", JSON, nullable=True),
        Column("created_at", DateTime(timezone=True)),
    )
    table.metadata.create_all(engine)
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    rows: list[dict[str, Any]] = [
        {
            "id": "a",
            "name": "tab\there, quote ' and \\ backslash",
            "flag": True,
            "born": date(1990, 1, 2),
            "body": {"x": [1, "二"], "y": None},
        },
        {"id": "b", "name": "志愿者", "flag": False, "born": None, "body": None},
    ]
    try:
        with Session(engine) as session:
            insert_rows(session, table, rows, same={"created_at": now})
            session.commit()
            stored = {r.id: r._asdict() for r in session.execute(select(table))}
        assert stored["a"]["name"] == rows[0]["name"] and stored["a"]["flag"] is True
        assert stored["a"]["born"] == date(1990, 1, 2) and stored["a"]["body"] == {"x": [1, "二"], "y": None}
        assert stored["b"]["flag"] is False and stored["b"]["born"] is None and stored["b"]["body"] is None
        assert {s["created_at"].replace(tzinfo=timezone.utc) for s in stored.values()} == {now}
        with Session(engine) as session, pytest.raises(IntegrityError):
            insert_rows(
                session,
                table,
                [
                    {"id": "c", "name": "new", "flag": True, "born": None, "body": None},
                    {"id": "a", "name": "again", "flag": True, "born": None, "body": None},
                ],
                same={"created_at": now},
            )
        with Session(engine) as session:
            assert session.scalar(select(table.c.name).where(table.c.id == "c")) is None  # nothing of that batch
    finally:
        table.metadata.drop_all(engine)
