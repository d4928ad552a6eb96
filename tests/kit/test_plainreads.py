"""``yilin.plainreads``: a compiled query on the driver's cursor hands back what
``Connection.execute`` would (on SQLite and PostgreSQL), refuses what it cannot run, raises
a driver's error as SQLAlchemy does, and a dropped connection costs one read."""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace
from typing import Any

import psycopg2
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import sessionmaker

from yilin.db import DatabaseAccess, engine_for
from yilin.identity import service_account
from yilin.plainreads import Query, lent
from yilin.sqljson import json_array_agg, json_object

metadata = MetaData()
people = Table(
    "plain_people",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("minutes", Integer),
    Column("active", Boolean),
    Column("born", Date),
    Column("seen_at", DateTime(timezone=True)),
)
tags = Table("plain_tags", metadata, Column("person_id", String(36)), Column("tag", String(20)))

_TAGS = select(json_array_agg(json_object(tag=tags.c.tag))).where(tags.c.person_id == people.c.id)
BY_ID = select(
    people,
    _TAGS.scalar_subquery().label("tags"),
    literal(7).label("seven"),
    (people.c.minutes > bindparam("at_least")).label("enough"),
).where(people.c.id == bindparam("person_id"))
BY_ID_QUERY = Query(BY_ID)
SEEN = datetime(2026, 12, 5, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def engine(database_url: str) -> Any:
    engine = engine_for(database_url.format(service="plain"), "public")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(people),
            [
                {"id": "a", "minutes": 90, "active": True, "born": date(1990, 5, 1), "seen_at": SEEN},
                {"id": "b", "minutes": None, "active": False, "born": None, "seen_at": None},
            ],
        )
        connection.execute(insert(tags), [{"person_id": "a", "tag": "first-aid"}])
    yield engine
    metadata.drop_all(engine)


def test_rows_are_those_sqlalchemy_hands_back(engine: Any) -> None:
    for params in ({"person_id": "a", "at_least": 60}, {"person_id": "b", "at_least": 0}):
        with engine.connect() as connection:
            expected = connection.execute(BY_ID, params).one()
        with lent(engine) as reader:
            (row,) = reader.all(BY_ID_QUERY, params)
        assert tuple(row) == tuple(expected)
        assert row._fields == tuple(expected._fields)
    assert (row.id, row.active, row.seven) == ("b", False, 7)  # SQLite's 0 is False, as SQLAlchemy turns it
    with lent(engine) as reader:
        first = reader.first(BY_ID_QUERY, {"person_id": "a", "at_least": 100})
        assert reader.first(BY_ID_QUERY, {"person_id": "nobody", "at_least": 0}) is None
    assert first.born == date(1990, 5, 1) and first.tags == [{"tag": "first-aid"}]
    assert first.seen_at.replace(tzinfo=None) == SEEN.replace(tzinfo=None)  # SQLite keeps no offset
    assert first.enough is False


def test_what_a_plain_read_cannot_run_is_refused(engine: Any) -> None:
    with lent(engine) as reader:
        with pytest.raises(ArgumentError, match="at_least"):
            reader.all(BY_ID_QUERY, {"person_id": "a"})
        with pytest.raises(ArgumentError, match="expanding"):
            reader.all(Query(select(people.c.id).where(people.c.id.in_(bindparam("ids", expanding=True)))), {})
        with pytest.raises(DBAPIError) as caught:  # as SQLAlchemy raises a driver's error
            reader.all(Query(select(Table("nowhere", MetaData(), Column("id", String)).c.id)))
    assert not caught.value.connection_invalidated


def test_rows_inside_a_transaction_see_its_changes(engine: Any) -> None:
    provider = SimpleNamespace(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    db = DatabaseAccess(provider, None, service_account("test"))  # type: ignore[arg-type]  # no worker context: reads need none
    session = provider.sessions()
    db._pending = SimpleNamespace(session=session)  # type: ignore[assignment]  # a write RPC's open transaction
    session.execute(insert(people).values(id="c", minutes=5, active=True))
    with db.rows() as reader:
        assert reader.first(BY_ID_QUERY, {"person_id": "c", "at_least": 1}).minutes == 5
    session.rollback()
    session.close()
    db._pending = None
    with db.rows() as reader:
        assert reader.first(BY_ID_QUERY, {"person_id": "c", "at_least": 1}) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # only a server drops connections
def test_a_dropped_connection_fails_one_read_and_the_pool_reconnects(engine: Any, database_url: str) -> None:
    params = {"person_id": "a", "at_least": 0}
    with lent(engine) as reader:
        reader.all(BY_ID_QUERY, params)
        assert reader.connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE  # autocommit
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database()"
        )
    admin.close()
    failures = 0
    for _ in range(3):
        try:
            with lent(engine) as reader:
                assert reader.first(BY_ID_QUERY, params).id == "a"
        except DBAPIError as exc:
            assert exc.connection_invalidated
            failures += 1
    assert failures <= 1
    with engine.connect() as connection:  # a transaction afterwards is on a live connection
        assert connection.execute(select(literal(1))).scalar() == 1
