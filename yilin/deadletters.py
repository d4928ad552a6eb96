"""Operator access to a service's dead-letter queue: list, inspect, replay, purge."""

from __future__ import annotations

from typing import Any, Iterator

from kombu import Connection, Exchange, Producer

from yilin.events import CONTENT_TYPE, LEGACY_CONTENT_TYPE, routing_key
from yilin.topology import dead_letter_queue

JSON_TYPES = (CONTENT_TYPE, LEGACY_CONTENT_TYPE)  # a CloudEvent, or the first envelope


def _origin(message: Any) -> tuple[str | None, str | None]:
    deaths = (message.headers or {}).get("x-death") or []
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
    with Connection(amqp_uri) as conn:
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
    with Connection(amqp_uri) as conn:
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


def replay(amqp_uri: str, service: str) -> int:
    """Republish each message straight to the queue it was dead-lettered from, then
    drop it from the DLQ. Returns how many were replayed."""
    count = 0
    with Connection(amqp_uri) as conn:
        producer = Producer(conn.channel(), exchange=Exchange(""))
        for message in _each(conn, service):
            queue, _ = _origin(message)
            if queue is None:  # not dead-lettered by us; left unacked, it returns to the DLQ
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            producer.publish(
                message.body,
                routing_key=queue,
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
                message_id=message.properties.get("message_id"),
            )
            message.ack()
            count += 1
    return count


def purge(amqp_uri: str, service: str) -> int:
    """Drop every message in the DLQ; returns how many."""
    with Connection(amqp_uri) as conn:
        queue = dead_letter_queue(service)(conn.default_channel)
        queue.declare()
        return queue.purge() or 0


def depth(amqp_uri: str, service: str) -> int:
    """Messages waiting in the DLQ (for the ``yilin_dlq_depth`` gauge)."""
    with Connection(amqp_uri) as conn:
        queue = dead_letter_queue(service)(conn.default_channel)
        _, count, _ = queue.queue_declare(passive=True)
        return int(count)
