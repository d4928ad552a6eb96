"""The broker topology, defined once and declared both by ``yilin migrate`` (before any
service publishes) and by each consumer as it starts.

Consumer queues are durable quorum queues with a delivery limit: a handler that keeps
failing has its message requeued a bounded number of times, then dead-lettered to the
service's DLQ instead of being acked away."""

from __future__ import annotations

import re
from typing import Any, Iterator

from kombu import Connection, Exchange, Queue

DELIVERY_LIMIT = 3  # redeliveries after the first attempt: 4 attempts in all


class DeclaredQueue:
    """Marks an entrypoint that consumes from a queue this topology declares (the kit's
    durable event handler); :func:`service_handlers` finds them by it."""

    source_service: str
    event_type: str


def event_exchange(service: str) -> Exchange:
    """The topic exchange a service publishes its events to (nameko's own naming)."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False, delivery_mode=2)


def dead_letter_exchange(service: str) -> Exchange:
    """Where the service's exhausted messages go."""
    return Exchange(f"{service}.dlx", type="fanout", durable=True, auto_delete=False)


def dead_letter_queue(service: str) -> Queue:
    """The service's DLQ, inspected and replayed with ``yilin dlq``."""
    return Queue(
        f"{service}.dlq",
        exchange=dead_letter_exchange(service),
        routing_key="#",
        durable=True,
        auto_delete=False,
        queue_arguments={"x-queue-type": "quorum"},
    )


def handler_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """nameko's own SERVICE_POOL naming, so every replica of a handler shares one queue."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def handler_queue(source: str, event_type: str, service: str, method: str) -> Queue:
    """The queue one event handler consumes from, bound to its source's exchange."""
    return Queue(
        handler_queue_name(source, event_type, service, method),
        exchange=event_exchange(source),
        routing_key=event_type,
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": dead_letter_exchange(service).name,
        },
    )


def service_handlers(service_cls: type) -> Iterator[tuple[str, str, str]]:
    """``(source, event_type, method)`` for each durable event handler of a service class."""
    for name in dir(service_cls):
        attr = getattr(service_cls, name, None)
        for entrypoint in getattr(attr, "nameko_entrypoints", ()):
            if isinstance(entrypoint, DeclaredQueue):
                yield entrypoint.source_service, entrypoint.event_type, name


def service_topology(service_cls: type[Any]) -> list[Any]:
    """Every exchange and queue a service needs, in declaration order."""
    service = service_cls.name
    entities: list[Any] = [event_exchange(service), dead_letter_exchange(service), dead_letter_queue(service)]
    for source, event_type, method in service_handlers(service_cls):
        queue = handler_queue(source, event_type, service, method)
        entities += [queue.exchange, queue]
    return entities


def broker_permissions(service_cls: type[Any]) -> dict[str, str]:
    """The RabbitMQ permissions (``configure``, ``write``, ``read`` regular expressions)
    of the service's own broker user: its RPC queue and reply queues, its handler queues,
    its exchanges and DLQ, RPC through ``nameko-rpc``, and reading (binding from) the
    exchanges of the services it subscribes to. Nothing of another service's queues."""
    service = re.escape(service_cls.name)
    sources = sorted({source for source, _, _ in service_handlers(service_cls)})
    source_exchanges = "|".join(re.escape(f"{s}.events") for s in sources)
    own = (
        rf"rpc-{service}|rpc\.reply-{service}-[0-9a-f-]+|evt-[a-z_]+-[a-z_.]+--{service}\.[a-z_]+"
        rf"|{service}\.(events|dlx|dlq)|nameko-rpc"
    )
    with_sources = own + (f"|{source_exchanges}" if sources else "")
    return {
        "configure": f"^({with_sources})$",  # kombu declares a bound queue's exchange too
        "write": f"^({own})$",
        "read": f"^({with_sources})$",
    }


def connect(amqp_uri: str, connect_timeout: float = 5) -> Connection:
    """A connection to the first broker that answers, trying each broker of a failover
    URI (``pyamqp://a/vh;pyamqp://b/vh;…``) once before giving up."""
    conn = Connection(amqp_uri, connect_timeout=connect_timeout)
    conn.ensure_connection(max_retries=max(1, len(conn.alt)))
    return conn


def declare(amqp_uri: str, service_classes: list[type[Any]]) -> list[str]:
    """Declare the topology of every given service; return the queue names."""
    names: list[str] = []
    with connect(amqp_uri) as conn:
        channel = conn.channel()
        for cls in service_classes:
            for entity in service_topology(cls):
                entity.maybe_bind(channel)
                entity.declare()
                if isinstance(entity, Queue):
                    names.append(entity.name)
        channel.close()
    return names
