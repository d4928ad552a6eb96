"""Replaying a service's event log into another service.

Every outbox keeps the events it published (sent rows stay, with ``sent_at``), so a
publisher's outbox is its event log. ``replay`` republishes that log, oldest first,
straight into the handler queues of one consumer (through the default exchange), so
a consumer rebuilt on an empty database catches up without the other consumers seeing
anything twice. Consumers de-duplicate by event id, so replaying into a database that
already holds some of the events is safe too."""

from __future__ import annotations

from typing import Any, Iterator

from kombu import Exchange, Producer
from sqlalchemy import MetaData, select

from yilin.config import database_url
from yilin.db import engine_for
from yilin.events import routing_key, serializer
from yilin.tables import define_kit_tables
from yilin.topology import connect, handler_queue_name, service_handlers


def logged_events(config: dict[str, Any], source: str, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every event in ``source``'s outbox, oldest first."""
    metadata = MetaData()
    define_kit_tables(metadata)
    outbox = metadata.tables["outbox"]
    engine = engine_for(database_url(config, source), source)
    after: tuple[Any, str] | None = None
    while True:
        query = select(outbox.c.id, outbox.c.created_at, outbox.c.message).order_by(outbox.c.created_at, outbox.c.id)
        if after is not None:
            query = query.where(
                (outbox.c.created_at > after[0]) | ((outbox.c.created_at == after[0]) & (outbox.c.id > after[1]))
            )
        with engine.connect() as conn:
            rows = conn.execute(query.limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield row.message
        after = (rows[-1].created_at, rows[-1].id)


def replay(config: dict[str, Any], source: str, target_cls: type[Any], types: tuple[str, ...] = ()) -> dict[str, int]:
    """Republish ``source``'s logged events to ``target_cls``'s handler queues; returns
    how many went to each event type (types the target does not handle are skipped)."""
    queues: dict[str, list[str]] = {}
    for handler_source, event_type, method in service_handlers(target_cls):
        if handler_source == source and (not types or event_type in types):
            queues.setdefault(event_type, []).append(handler_queue_name(source, event_type, target_cls.name, method))
    counts: dict[str, int] = {}
    # the failover list (a;b;c) as the services use it: the first broker that answers
    with connect(config["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel(), exchange=Exchange(""))
        publish = conn.ensure(producer, producer.publish, max_retries=5)
        for message in logged_events(config, source):
            # the log holds CloudEvents, and the first envelope in rows written before them
            kind = routing_key(message)
            for queue in queues.get(kind, ()):
                publish(
                    message,
                    routing_key=queue,
                    serializer=serializer(message),
                    delivery_mode=2,
                    message_id=message["id"],
                )
                counts[kind] = counts.get(kind, 0) + 1
    return counts
