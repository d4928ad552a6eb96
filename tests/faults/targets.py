"""The consumers the fault suite drives: how to prepare each one's database and queues,
and how to read its ledger back for the checker."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import create_engine, text

from yilin import topology
from yilinctl.cli import service_class

Ledger = tuple[dict[tuple[str, str], list[int]], dict[tuple[str, str], int]]


@dataclass(frozen=True)
class Target:
    """One consumer service under test."""

    process: str  # what ``yilin serve`` is given
    service: str  # the nameko service name: schema, queues, DLQ
    prepare_db: Callable[[dict[str, Any]], None]
    ledger_sql: str  # rows of (ticket_id, volunteer_id, minutes, verified 0/1)

    def cls(self) -> type:
        return service_class(self.process)

    def prepare(self, config: dict[str, Any]) -> None:
        """Migrate a fresh database; declare the topology and empty the queues."""
        self.prepare_db(config)
        topology.declare(config["AMQP_URI"], [self.cls()])
        purge_queues(config["AMQP_URI"], self.cls())

    def read(self, database_url: str) -> Ledger:
        recorded: dict[tuple[str, str], list[int]] = defaultdict(list)
        verified: dict[tuple[str, str], int] = defaultdict(int)
        engine = _engine(database_url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'SET search_path TO "{self.service}"')
                for ticket_id, volunteer_id, minutes, is_verified in conn.execute(text(self.ledger_sql)):
                    recorded[(ticket_id, volunteer_id)].append(minutes)
                    verified[(ticket_id, volunteer_id)] += int(is_verified)
        finally:
            engine.dispose()
        return recorded, verified

    def inbox_stats(self, database_url: str) -> tuple[int, int]:
        """(rows inserted into the inbox by any transaction, rows committed). Every insert
        beyond the committed rows belongs to a transaction that a fault rolled back, so
        the broker must have delivered that event again for it to be counted."""
        engine = _engine(database_url)
        try:
            with engine.connect() as conn:
                inserted = (
                    conn.execute(
                        text("SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = :s AND relname = 'inbox'"),
                        {"s": self.service},
                    ).scalar()
                    or 0
                )
                committed = conn.execute(text(f'SELECT count(*) FROM "{self.service}".inbox')).scalar()
        finally:
            engine.dispose()
        return int(inserted), int(committed)


def _engine(url: str) -> Any:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1), poolclass=None)


def purge_queues(amqp_uri: str, cls: type) -> None:
    with topology.connect(amqp_uri) as conn:
        channel = conn.channel()
        for source, event_type, method in topology.service_handlers(cls):
            channel.queue_purge(topology.handler_queue_name(source, event_type, cls.name, method))
        channel.queue_purge(f"{cls.name}.dlq")


def queue_depths(amqp_uri: str, cls: type) -> int:
    """Messages ready in the service's handler queues."""
    total = 0
    with topology.connect(amqp_uri) as conn:
        channel = conn.channel()
        for source, event_type, method in topology.service_handlers(cls):
            _, count, _ = channel.queue_declare(
                topology.handler_queue_name(source, event_type, cls.name, method), passive=True
            )
            total += count
    return total


def dlq_depth(amqp_uri: str, service: str) -> int:
    with topology.connect(amqp_uri) as conn:
        _, count, _ = conn.channel().queue_declare(f"{service}.dlq", passive=True)
    return count


def _prepare_probe(config: dict[str, Any]) -> None:
    from tests.faults import ledger_probe

    engine = _engine(config["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql('CREATE SCHEMA IF NOT EXISTS "ledgerprobe"')
            conn.exec_driver_sql('SET search_path TO "ledgerprobe"')
            ledger_probe.metadata.create_all(conn)
    finally:
        engine.dispose()


PROBE = Target(
    process="tests.faults.ledger_probe:LedgerProbe",
    service="ledgerprobe",
    prepare_db=_prepare_probe,
    ledger_sql=(
        "SELECT r.ticket_id, r.volunteer_id, r.minutes, "
        "(SELECT count(*) FROM ledger v WHERE v.kind = 'verified' AND v.ticket_id = r.ticket_id) "
        "FROM ledger r WHERE r.kind = 'recorded'"
    ),
)


def _prepare_hours(config: dict[str, Any]) -> None:
    from tests.harness import migrate_service

    migrate_service("hours", config)


HOURS = Target(
    process="hours",
    service="hours",
    prepare_db=_prepare_hours,
    ledger_sql=(
        "SELECT source_id, volunteer_id, minutes, CASE WHEN status = 'verified' THEN 1 ELSE 0 END "
        "FROM entries WHERE source = 'ticket'"
    ),
)
