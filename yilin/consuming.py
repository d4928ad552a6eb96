"""Event handlers that never lose a message and never apply one twice.

``@consumes("tickets", "ticket.resolved")`` marks a service method as a handler. The
message is acked only after the handler's transaction commits; on an error it is
requeued, and after the delivery limit the broker dead-letters it (:mod:`yilin.topology`).
Inside, the event id is claimed in the service's ``inbox`` in the same transaction as
the handler's effects, so a redelivered event is skipped."""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable

import eventlet
from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from marshmallow import ValidationError
from nameko.events import EventHandler
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from yilin import metrics
from yilin.db import UnitOfWork
from yilin.logs import CORRELATION_KEY
from yilin.events import Envelope, parse_envelope
from yilin.topology import DELIVERY_LIMIT, handler_queue

log = logging.getLogger(__name__)

DUPLICATE = object()
OTHER_VERSION = object()


def _skip_reason(result: Any) -> str | None:
    # Identity checks: a handler's result may be unhashable.
    if result is DUPLICATE:
        return "duplicate_skipped"
    if result is OTHER_VERSION:
        return "other_version_skipped"
    return None

# How long a handler keeps retrying while its database is unreachable before it gives
# the message back to the broker. Retrying in place, rather than requeueing at once,
# keeps an outage of a few seconds from burning through the delivery limit and
# dead-lettering every message that happened to arrive during it.
TRANSIENT_RETRY_SECONDS = 60.0


def transient(exc: BaseException) -> bool:
    """A database failure that says nothing about the message: connection lost, server
    restarting, deadlock or serialisation failure."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class DurableEventHandler(EventHandler):
    """nameko's EventHandler on a quorum queue with requeue-on-error."""

    def __init__(self, source_service: str, event_type: str, **kwargs: Any) -> None:
        kwargs.setdefault("requeue_on_error", True)
        super().__init__(source_service, event_type, **kwargs)

    def setup(self) -> None:
        service = self.container.service_name
        self.queue = handler_queue(self.source_service, self.event_type, service, self.method_name)
        # Skip EventHandler.setup (it would build a classic queue); register directly.
        self.queue_consumer.register_provider(self)

    def handle_message(self, body: Any, message: Any) -> None:
        # Carry the envelope's correlation id into the worker (logs, emitted events).
        if isinstance(body, dict) and body.get("correlation_id"):
            message.headers.setdefault("nameko." + CORRELATION_KEY, body["correlation_id"])
        super().handle_message(body, message)

    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> Any:
        service = self.container.service_name
        if exc_info is None:
            outcome = _skip_reason(result) or "ok"
        else:
            previous = int((message.headers or {}).get("x-delivery-count", 0) or 0)
            outcome = "dead_lettered" if previous >= DELIVERY_LIMIT else "retried"
            log.warning("handler %s failed on %s (%s)", self.method_name, self.event_type, outcome,
                        exc_info=exc_info)
        metrics.EVENTS_HANDLED.labels(service, self.event_type, outcome).inc()
        return super().handle_result(message, worker_ctx, None if _skip_reason(result) else result, exc_info)

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        # nameko only expects amqp's ConnectionError here; a socket reset while acking
        # (broker gone, network cut) would escape and kill the whole container. The
        # broker has already taken the message back with its connection, so it will be
        # delivered again and the inbox will skip it: log, and carry on.
        try:
            super().handle_message_processed(message, result, exc_info)
        except (OSError, AMQPError, KombuError) as exc:
            log.warning("could not settle a %s delivery (%s); the broker redelivers it", self.event_type, exc)


def consumes(source: str, event_type: str, version: int = 1,
             db_attribute: str = "db") -> Callable[[Callable[..., Any]], Any]:
    """Decorate ``method(self, uow: UnitOfWork, event: Envelope)`` as an idempotent,
    durable handler of ``event_type`` events from ``source`` at schema ``version``.

    During a deprecation window the publisher sends each change in the old and the new
    version; a handler takes only the version it was written for and acks the other."""

    def decorate(method: Callable[[Any, UnitOfWork, Envelope], Any]) -> Any:
        @functools.wraps(method)
        def handle(self: Any, body: Any) -> Any:
            try:
                event = parse_envelope(body)
            except ValidationError as exc:
                # Malformed: retrying cannot help, but it must not vanish either.
                raise ValueError(f"malformed {event_type} envelope: {exc.messages}") from None
            if event.version != version:
                return OTHER_VERSION
            database = getattr(self, db_attribute)
            deadline = time.monotonic() + TRANSIENT_RETRY_SECONDS
            pause = 0.1
            while True:
                try:
                    with database.transaction(correlation_id=event.correlation_id) as uow:
                        if not uow.claim(event):
                            return DUPLICATE
                        outcome = method(self, uow, event)
                    break
                except Exception as exc:  # noqa: BLE001 - only transient database errors are retried
                    if not transient(exc) or time.monotonic() + pause > deadline:
                        raise
                    log.warning("database unavailable handling %s (%s); retrying in %.1fs",
                                event.type, str(exc).splitlines()[0][:200], pause)
                    eventlet.sleep(pause)
                    pause = min(pause * 2, 2.0)
            lag = (datetime.now(timezone.utc) - event.occurred_at).total_seconds()
            metrics.EVENT_LAG.labels(self.name, event.type).observe(max(lag, 0.0))
            # one line per applied event: with the bound correlation id it shows a request's path
            log.info("handled %s", event.type, extra={"fields": {
                "event_type": event.type, "event_id": event.id, "emitted": [e.type for e in uow.events]}})
            return outcome

        return DurableEventHandler.decorator(source, event_type)(handle)

    return decorate

