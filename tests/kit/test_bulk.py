"""``yilin.bulk.insert_rows`` stores exactly what an ``INSERT`` would, on both backends and
along both of its PostgreSQL paths (``unnest`` for a few rows, ``COPY`` for many); and
``yilin.bulk.stored`` finds the keys a table holds in chunks."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilin.bulk import COPY_FROM_ROWS, LOOKUP_CHUNK, insert_rows, stored
from yilin.db import engine_for


@pytest.mark.parametrize("filler", [0, COPY_FROM_ROWS], ids=["few-rows", "many-rows"])
def test_insert_rows_round_trips_every_type_and_surfaces_conflicts(database_url: str, filler: int) -> None:
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
        {"id": "n", "name": "line\nbreak\r\\N", "flag": False, "born": None, "body": "a\tstring"},
    ]
    rows += [{"id": f"f{i}", "name": "x", "flag": True, "born": None, "body": [i]} for i in range(filler)]
    try:
        with Session(engine) as session:
            insert_rows(session, table, rows, same={"created_at": now})
            session.commit()
            stored = {r.id: r._asdict() for r in session.execute(select(table))}
        assert stored["a"]["name"] == rows[0]["name"] and stored["a"]["flag"] is True
        assert stored["a"]["born"] == date(1990, 1, 2) and stored["a"]["body"] == {"x": [1, "二"], "y": None}
        assert stored["b"]["flag"] is False and stored["b"]["born"] is None and stored["b"]["body"] is None
        assert stored["b"]["name"] == "志愿者" and stored["n"]["name"] == "line\nbreak\r\\N"
        assert stored["n"]["body"] == "a\tstring" and len(stored) == 3 + filler
        assert {s["created_at"].replace(tzinfo=timezone.utc) for s in stored.values()} == {now}
        with Session(engine) as session, pytest.raises(IntegrityError):
            insert_rows(
                session,
                table,
                [
                    {"id": "c", "name": "new", "flag": True, "born": None, "body": None},
                    *({"id": f"g{i}", "name": "x", "flag": True, "born": None, "body": None} for i in range(filler)),
                    {"id": "a", "name": "again", "flag": True, "born": None, "body": None},
                ],
                same={"created_at": now},
            )
        with Session(engine) as session:
            assert session.scalar(select(table.c.name).where(table.c.id == "c")) is None  # nothing of that batch
    finally:
        table.metadata.drop_all(engine)


def test_stored_finds_keys_across_lookup_chunks(database_url: str) -> None:
    engine = engine_for(database_url.format(service="bulk"), "public")
    table = Table("bulk_keys", MetaData(), Column("code", String(20), primary_key=True), Column("name", String(20)))
    table.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            insert_rows(session, table, [{"code": f"k{i}", "name": f"n{i}"} for i in range(LOOKUP_CHUNK + 5)])
            session.commit()
            wanted = [f"k{i}" for i in range(0, LOOKUP_CHUNK + 5, 2)] + ["absent", "k0"]
            assert stored(session, table, "code", wanted) == {k: k for k in set(wanted) - {"absent"}}
            names = stored(session, table, "code", ["k3", f"k{LOOKUP_CHUNK + 4}", "absent"], "name")
            assert names == {"k3": "n3", f"k{LOOKUP_CHUNK + 4}": f"n{LOOKUP_CHUNK + 4}"}
            both = stored(session, table, "code", ["k7"], "code", "name")
            assert both == {"k7": ("k7", "n7")}
    finally:
        table.metadata.drop_all(engine)
