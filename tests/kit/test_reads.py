"""``db.read()`` on PostgreSQL: statements run in autocommit (no BEGIN/ROLLBACK round
trips), a connection used a moment ago is not pinged, and a read that meets a dropped
connection fails once and leaves the pool renewed; transactions are pinged as before."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import psycopg2
import pytest
from psycopg2.extensions import TRANSACTION_STATUS_IDLE, TRANSACTION_STATUS_INTRANS
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from yilin.db import DatabaseAccess, engine_for
from yilin.identity import service_account


@pytest.fixture
def db(pg_url: str) -> Any:
    engine = engine_for(pg_url, "kit_reads")
    provider = SimpleNamespace(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    return DatabaseAccess(provider, None, service_account("test"))  # type: ignore[arg-type]  # no worker context: reads need none


def _status(session: Any) -> int:
    return session.connection().connection.dbapi_connection.get_transaction_status()


def _terminate_backends(pg_url: str) -> int:
    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        killed = cursor.fetchone()[0]
    admin.close()
    return killed


def test_a_read_opens_no_transaction_and_a_transaction_still_does(db: Any) -> None:
    with db.read() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
        assert _status(session) == TRANSACTION_STATUS_IDLE  # no BEGIN went before it
    with db.provider.engine.connect() as connection:  # the same pooled connection, back to normal
        connection.execute(text("SELECT 1"))
        assert connection.connection.dbapi_connection.get_transaction_status() == TRANSACTION_STATUS_INTRANS
        connection.rollback()


def test_dropped_connections_cost_a_read_at_most_once_and_a_transaction_never(db: Any, pg_url: str) -> None:
    with db.read() as session:
        session.execute(text("SELECT 1"))
    assert _terminate_backends(pg_url) >= 1
    with db.provider.engine.begin() as connection:  # pinged at checkout: the pool reconnects
        assert connection.execute(text("SELECT 2")).scalar() == 2

    with db.read() as session:
        session.execute(text("SELECT 1"))
    assert _terminate_backends(pg_url) >= 1
    failures = 0
    for _ in range(3):
        try:
            with db.read() as session:
                assert session.execute(text("SELECT 3")).scalar() == 3
        except DBAPIError as exc:
            assert exc.connection_invalidated
            failures += 1
    assert failures <= 1, failures  # 1 when within PING_AFTER_IDLE of the last use, else 0
