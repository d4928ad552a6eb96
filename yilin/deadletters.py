"""Operator access to a service's dead-letter queue: list, inspect, replay, purge.

Each opens its connection with :func:`yilin.topology.connect`, as the services do: with a
failover URI (``a;b;c``) it reaches whichever broker of the cluster answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterator

import amqp
from kombu import Connection

from yilin.events import CONTENT_TYPE, LEGACY_CONTENT_TYPE, routing_key
from yilin.topology import FAILURES_HEADER, QUEUE_HEADER, connect, dead_letter_queue, retry_exchange

log = logging.getLogger(__name__)

JSON_TYPES = (CONTENT_TYPE, LEGACY_CONTENT_TYPE)  # a CloudEvent, or the first envelope

# A message replayed this many times and parked again stays parked: it is poison, and
# only an operator who has fixed its cause (or purges it) may move it on.
REPLAY_LIMIT = 3
REPLAYS_HEADER = "x-yilin-replays"


@dataclass
class Replayed:
    """What ``replay`` did: how many went back, and which stayed in the DLQ and why."""

    replayed: int = 0
    kept: dict[str, list[str]] = field(default_factory=dict)  # reason → message ids

    def keep(self, reason: str, message: Any) -> None:
        """Record ``message`` as left in the DLQ for ``reason``."""
        self.kept.setdefault(reason, []).append(str(message.properties.get("message_id") or "?"))


def _origin(message: Any) -> tuple[str | None, str | None]:
    headers = message.headers or {}
    if headers.get(QUEUE_HEADER):  # parked by the kit after repeated handler failures
        return str(headers[QUEUE_HEADER]), "handler_failed"
    deaths = headers.get("x-death") or []
    if not deaths:
        return None, None
    first = deaths[0]
    return first.get("queue"), first.get("reason")


def _each(conn: Connection, service: str) -> Iterator[Any]:
    queue = dead_letter_queue(service)(conn.default_channel)
    queue.declare()
    while True:
        message = queue.get(no_ack=False, accept=list(JSON_TYPES))
        if message is None:
            return
        yield message


def peek(amqp_uri: str, service: str) -> list[dict[str, Any]]:
    """Every dead-lettered message, left in place."""
    items = []
    with connect(amqp_uri) as conn:
        for message in _each(conn, service):
            queue, reason = _origin(message)
            body = message.decode() if message.content_type in JSON_TYPES else message.body
            items.append(
                {
                    "message_id": message.properties.get("message_id"),
                    "queue": queue,
                    "reason": reason,
                    "routing_key": message.delivery_info.get("routing_key"),
                    "type": routing_key(body) if isinstance(body, dict) else None,
                    "body": body,
                }
            )
        # closing without acks returns every message to the DLQ
    return items


def inspect(amqp_uri: str, service: str, message_id: str) -> dict[str, Any] | None:
    """One dead-lettered message with every property and header, left in place."""
    with connect(amqp_uri) as conn:
        for message in _each(conn, service):
            if message.properties.get("message_id") != message_id:
                continue
            queue, reason = _origin(message)
            body = message.decode() if message.content_type in JSON_TYPES else message.body
            return {
                "message_id": message_id,
                "queue": queue,
                "reason": reason,
                "routing_key": message.delivery_info.get("routing_key"),
                "exchange": message.delivery_info.get("exchange"),
                "properties": {k: v for k, v in message.properties.items() if k != "application_headers"},
                "headers": message.headers or {},
                "body": body,
            }
    return None


def replay(amqp_uri: str, service: str, limit: int = REPLAY_LIMIT) -> Replayed:
    """Republish each message to the queue it was parked from, through the service's
    retry exchange, with publisher confirms and ``mandatory``; ack the parked copy only
    once the broker has confirmed that a queue took the new one. A message whose queue
    is gone (returned unroutable), that names no queue, or that was already replayed
    ``limit`` times stays in the DLQ."""
    done = Replayed()
    with connect(amqp_uri) as conn:
        channel = conn.connection.channel()
        returned: list[str] = []
        channel.events["basic_return"].add(lambda exc, exchange, key, message: returned.append(key))
        exchange = retry_exchange(service)
        channel.exchange_declare(exchange.name, exchange.type, durable=True, auto_delete=False)
        while True:
            message = channel.basic_get(dead_letter_queue(service).name, no_ack=False)
            if message is None:
                break
            parked = _Parked(message)
            queue, _ = _origin(parked)
            replays = int(parked.headers.get(REPLAYS_HEADER, 0) or 0)
            if queue is None:  # not parked by us or the broker; unacked, it stays
                done.keep("no_origin", parked)
                continue
            if replays >= limit:
                done.keep("replay_limit", parked)
                continue
            headers = {k: v for k, v in parked.headers.items() if not k.startswith("x-")}
            headers[REPLAYS_HEADER] = replays + 1
            headers[FAILURES_HEADER] = 0  # a fresh count of handler failures
            properties = {k: v for k, v in message.properties.items() if k != "application_headers"}
            properties.update(application_headers=headers, delivery_mode=2)
            returned.clear()
            # waits for the broker's ack; a basic.return for an unroutable copy comes first
            channel.basic_publish_confirm(
                amqp.Message(message.body, **properties), exchange=exchange.name, routing_key=queue, mandatory=True
            )
            if returned:
                done.keep("queue_missing", parked)
                continue
            channel.basic_ack(message.delivery_tag)
            done.replayed += 1
        # closing the channel returns every message left unacked to the DLQ
    for reason, ids in done.kept.items():
        log.warning("%d message(s) left in %s.dlq (%s): %s", len(ids), service, reason, ", ".join(ids[:10]))
    return done


class _Parked:
    """A raw amqp message seen through the attributes ``_origin`` reads."""

    def __init__(self, message: amqp.Message) -> None:
        self.headers: dict[str, Any] = dict(message.properties.get("application_headers") or {})
        self.properties = message.properties


def purge(amqp_uri: str, service: str) -> int:
    """Drop every message in the DLQ; returns how many."""
    with connect(amqp_uri) as conn:
        queue = dead_letter_queue(service)(conn.default_channel)
        queue.declare()
        return queue.purge() or 0


def depth(amqp_uri: str, service: str) -> int:
    """Messages waiting in the DLQ (for the ``yilin_dlq_depth`` gauge)."""
    with connect(amqp_uri) as conn:
        queue = dead_letter_queue(service)(conn.default_channel)
        _, count, _ = queue.queue_declare(passive=True)
        return int(count)
