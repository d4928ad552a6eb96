"""The broker topology, defined once and declared both by ``yilin migrate`` (before any
service publishes) and by each consumer as it starts.

Consumer queues are durable quorum queues. Two limits keep crashes and poison apart:

- a handler that raises has its message republished with a failure count
  (:data:`FAILURES_HEADER`) through the service's own retry exchange, and after
  :data:`FAILURE_LIMIT` failures parks it in the service's DLQ (:mod:`yilin.consuming`);
- the quorum ``x-delivery-limit`` is sized for crashes (:data:`DELIVERY_LIMIT`): on
  RabbitMQ 3.10 every delivery handed back by a dead consumer spends an attempt, so it
  only stops a message that kills its consumer every time.

Dead-lettering is ``at-least-once`` (with ``reject-publish`` overflow, which that
strategy requires): the broker keeps a message until the DLQ has confirmed its copy.
A queue declared with other arguments is refused by the broker (PRECONDITION_FAILED),
so :func:`declare` (``yilin migrate``) replaces an old queue only when it is empty."""

from __future__ import annotations

import re
from typing import Any, Iterator

from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue, binding

# Deliveries a consumer may lose by dying before the broker parks the message: only a
# message that kills its consumer every time gets there.
DELIVERY_LIMIT = 100
# Handler failures (the handler raised) before the message is parked in the DLQ.
FAILURE_LIMIT = 3
FAILURES_HEADER = "x-yilin-failures"
# Set on a message parked by the kit: the queue it failed in and the last error.
QUEUE_HEADER = "x-yilin-queue"
ERROR_HEADER = "x-yilin-error"


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


def retry_exchange(service: str) -> Exchange:
    """The service's own direct exchange for putting a message back on one of its
    queues (routing key: the queue's name). Publishing through the default exchange
    needs write permission on every queue name, which a service's broker user lacks."""
    return Exchange(f"{service}.retry", type="direct", durable=True, auto_delete=False)


def queue_arguments(service: str) -> dict[str, Any]:
    """The arguments of every handler queue of ``service``."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": dead_letter_exchange(service).name,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def handler_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """nameko's own SERVICE_POOL naming, so every replica of a handler shares one queue."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def handler_queue(source: str, event_type: str, service: str, method: str) -> Queue:
    """The queue one event handler consumes from, bound to its source's exchange and,
    under its own name, to its service's retry exchange."""
    name = handler_queue_name(source, event_type, service, method)
    return Queue(
        name,
        bindings=[binding(event_exchange(source), routing_key=event_type), binding(retry_exchange(service), name)],
        durable=True,
        auto_delete=False,
        queue_arguments=queue_arguments(service),
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
    entities: list[Any] = [
        event_exchange(service),
        dead_letter_exchange(service),
        dead_letter_queue(service),
        retry_exchange(service),
    ]
    for source, event_type, method in service_handlers(service_cls):
        entities += [event_exchange(source), handler_queue(source, event_type, service, method)]
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
        rf"|{service}\.(events|dlx|dlq|retry)|nameko-rpc"
    )
    with_sources = own + (f"|{source_exchanges}" if sources else "")
    return {
        "configure": f"^({with_sources})$",  # kombu declares a bound queue's exchange too
        "write": f"^({own})$",
        "read": f"^({with_sources})$",
    }


def connect(amqp_uri: str, connect_timeout: float = 5, **options: Any) -> Connection:
    """A connection to the first broker that answers, trying each broker of a failover
    URI (``pyamqp://a/vh;pyamqp://b/vh;…``) once before giving up; ``options`` go to
    kombu's ``Connection`` (``transport_options``, …)."""
    conn = Connection(amqp_uri, connect_timeout=connect_timeout, **options)
    conn.ensure_connection(max_retries=max(1, len(conn.alt)))
    return conn


class QueueNotEmpty(Exception):
    """An existing queue has other arguments than the code declares, and holds messages
    (or has consumers, which may hold some)."""


def declare(amqp_uri: str, service_classes: list[type[Any]]) -> list[str]:
    """Declare the topology of every given service; return the queue names.

    A handler queue that exists with other arguments (an older release's) is replaced
    when it is empty; if it holds messages, :class:`QueueNotEmpty` names it and nothing
    is deleted: let the old consumers drain it and stop them first."""
    names: list[str] = []
    with connect(amqp_uri) as conn:
        for cls in service_classes:
            for entity in service_topology(cls):
                channel = conn.channel()
                try:
                    entity.maybe_bind(channel)
                    entity.declare()
                except PreconditionFailed:
                    if not isinstance(entity, Queue):
                        raise
                    _replace_empty(conn, entity)
                finally:
                    _close(channel)
                if isinstance(entity, Queue):
                    names.append(entity.name)
    return names


def _replace_empty(conn: Connection, queue: Queue) -> None:
    channel = conn.channel()
    try:
        _count_or_refuse(channel, queue.name)
        # Unbound, nothing new can be routed to it; an empty queue then stays empty
        # (quorum queues have no delete-if-empty).
        for bound in queue.bindings:
            channel.queue_unbind(queue.name, bound.exchange.name, bound.routing_key)
        try:
            _count_or_refuse(channel, queue.name)
        except QueueNotEmpty:
            for bound in queue.bindings:  # a message arrived meanwhile: leave it as it was
                channel.queue_bind(queue.name, bound.exchange.name, bound.routing_key)
            raise
        channel.queue_delete(queue.name)
        queue.maybe_bind(channel)
        queue.declare()
    finally:
        _close(channel)


def _count_or_refuse(channel: Any, name: str) -> None:
    # A consumer may hold unacked messages, which the ready count leaves out.
    _, messages, consumers = channel.queue_declare(name, passive=True)
    if messages or consumers:
        raise QueueNotEmpty(
            f"queue {name} exists with other arguments and holds {messages} message(s) "
            f"with {consumers} consumer(s); stop its consumers once it is drained, then run migrate again"
        )


def _close(channel: Any) -> None:
    try:
        channel.close()
    except Exception:  # noqa: BLE001 - the broker already closed it after a refusal
        pass
