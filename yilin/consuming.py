"""Event handlers that never lose a message and never apply one twice.

``@consumes("tickets", "ticket.resolved")`` marks a service method as a handler. The
message is acked only after the handler's transaction commits; on an error it is
republished with a failure count and parked in the DLQ after a few failures
(:mod:`yilin.failures`), never requeued. Inside, the event id is claimed in the
service's ``inbox`` in the same transaction as the handler's effects, so a redelivered
event is skipped.

On SIGTERM a handler costs nothing: it cancels its subscription (basic.cancel), then
handles and acks everything it already holds, prefetched deliveries included, before
the connection closes; the outbox relay then flushes. Nothing goes back to the queue,
where RabbitMQ 3.10 would count each returned delivery as a failed attempt."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable

import eventlet
from amqp.exceptions import AMQPError
from eventlet.semaphore import Semaphore
from kombu.exceptions import KombuError
from marshmallow import ValidationError
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from yilin import faults, logs, metrics, tracing
from yilin.confirms import one_write
from yilin.db import UnitOfWork
from yilin.events import Envelope, correlation_of, parse_envelope
from yilin.failures import RETRIED, FailureRouter
from yilin.logs import CORRELATION_KEY
from yilin.subscriptions import LATE_DELIVERY_SECONDS, SHUTDOWN_MARGIN_SECONDS, BatchQueueConsumer, shutdown_grace
from yilin.topology import DeclaredQueue, handler_queue

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


# How long a handler keeps retrying while its database is unreachable before it counts
# a handler failure. Retrying in place keeps an outage of a few seconds from
# spending the failure count of every message that happened to arrive during it.
TRANSIENT_RETRY_SECONDS = 60.0

# Up to this many events per transaction, this many transactions at a time per handler;
# the prefetch lets the next batch gather while one commits. All three are settings
# (``EVENT_BATCH_SIZE``, ``EVENT_BATCH_CONCURRENCY``, ``EVENT_PREFETCH``). Under a backlog
# batches of 200 drained the hours service a fifth faster than batches of 100, at less CPU
# per event (docs/performance.md, "Event pipeline: batches of 200").
DEFAULT_BATCH_SIZE = 200
DEFAULT_BATCH_CONCURRENCY = 2


def transient(exc: BaseException) -> bool:
    """A database failure that says nothing about the message: connection lost, server
    restarting, deadlock or serialisation failure."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class DurableEventHandler(EventHandler, DeclaredQueue):
    """nameko's EventHandler on a quorum queue: acked when handled, retried (counted)
    and then parked when its handler raises."""

    def setup(self) -> None:
        service = self.container.service_name
        self.queue = handler_queue(self.source_service, self.event_type, service, self.method_name)
        self.failures = FailureRouter(self.container.config["AMQP_URI"], service, self.queue.name)
        self._handled: dict[str, Any] = {}  # outcome → its EVENTS_HANDLED counter
        # Skip EventHandler.setup (it would build a classic queue); register directly.
        self.queue_consumer.register_provider(self)

    def handle_message(self, body: Any, message: Any) -> None:
        # Carry the event's correlation id into the worker (logs, emitted events).
        correlation = correlation_of(body)
        if correlation:
            message.headers.setdefault("nameko." + CORRELATION_KEY, correlation)
        # ...and the trace context it was emitted in, so its handling joins that trace.
        traceparent = tracing.carried(body, message.headers)
        if traceparent:
            message.headers["nameko." + tracing.KEY] = traceparent
        super().handle_message(body, message)

    def handle_result(self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> Any:
        self.settle(message, result, exc_info[1] if exc_info else None)
        return None if _skip_reason(result) else result, exc_info

    def settle(self, message: Any, result: Any, error: BaseException | None) -> None:
        """Ack a handled message; retry or park a failed one, then ack it; count it."""
        outcome = _skip_reason(result) or "ok"
        if error is not None:
            try:
                outcome = self.failures.route(message, error)
            except Exception as exc:  # noqa: BLE001 - not confirmed: hand the delivery back
                log.warning("could not republish a failed %s event (%s); requeued", self.event_type, exc)
                outcome = RETRIED
                self._settle_broker(self.queue_consumer.requeue_message, message)
                self._count(message, outcome, error)
                return
        self._settle_broker(self.queue_consumer.ack_message, message)
        self._count(message, outcome, error)

    def _count(self, message: Any, outcome: str, error: BaseException | None) -> None:
        """Log a failure and count the message's outcome."""
        if error is not None:
            failure = (type(error), error, error.__traceback__)
            log.warning("handler %s failed on %s (%s)", self.method_name, self.event_type, outcome, exc_info=failure)
        if outcome not in self._handled:  # a labelled child looked up once per outcome, not per message
            self._handled[outcome] = metrics.EVENTS_HANDLED.labels(
                self.container.service_name, self.event_type, outcome
            )
        self._handled[outcome].inc()
        if (message.delivery_info or {}).get("redelivered"):
            metrics.EVENTS_REDELIVERED.labels(self.container.service_name, self.event_type).inc()

    def _settle_broker(self, settle: Callable[[Any], None], message: Any) -> None:
        # nameko only expects amqp's ConnectionError here; a socket reset while acking
        # (broker gone, network cut) would escape and kill the whole container. The
        # broker has already taken the message back with its connection, so it will be
        # delivered again and the inbox will skip it: log, and carry on.
        try:
            settle(message)
        except (OSError, AMQPError, KombuError) as exc:
            log.warning("could not settle a %s delivery (%s); the broker redelivers it", self.event_type, exc)

    def stop(self) -> None:
        super().stop()
        self.failures.close()


class BatchingEventHandler(DurableEventHandler):
    """A durable handler whose worker takes every message waiting, up to the batch size.

    Messages are collected as the broker delivers them; while all workers are busy they
    pile up, so batches grow with the load and a lone message is handled at once. The
    worker returns one outcome per message: acked when handled or skipped, retried or
    parked (:mod:`yilin.failures`) when it raised."""

    queue_consumer = BatchQueueConsumer()

    def setup(self) -> None:
        super().setup()
        self.batch_size = max(1, int(self.container.config.get("EVENT_BATCH_SIZE", DEFAULT_BATCH_SIZE)))
        # Few batches at a time, so that under load each gathers many events instead of
        # the worker pool running many transactions of one event each.
        self._slots = Semaphore(
            max(1, int(self.container.config.get("EVENT_BATCH_CONCURRENCY", DEFAULT_BATCH_CONCURRENCY)))
        )
        self._waiting: deque[tuple[Any, Any]] = deque()
        self._dispatching = False
        self._in_flight = 0  # batches handed to workers, not yet settled
        self._held = metrics.EVENTS_HELD.labels(self.container.service_name, self.event_type)

    def stop(self) -> None:
        """Cancel the subscription, then handle and ack everything held (prefetched and late
        deliveries included) while the connection is still open; only what is left when the
        grace period runs out goes back to the broker, with the connection."""
        self.queue_consumer.cancel(self)
        late = time.monotonic() + LATE_DELIVERY_SECONDS
        deadline = time.monotonic() + max(1.0, shutdown_grace(self.container.config) - SHUTDOWN_MARGIN_SECONDS)
        while (self._waiting or self._in_flight or time.monotonic() < late) and time.monotonic() < deadline:
            if self._waiting and not self._dispatching:
                self._start_dispatch()
            eventlet.sleep(0.02)
        if self._waiting or self._in_flight:
            log.warning(
                "%s: stopping with %d event(s) unhandled after the grace period; the broker redelivers them",
                self.method_name,
                len(self._waiting) + self._in_flight,
            )
        super().stop()

    def handle_message(self, body: Any, message: Any) -> None:
        self._held.inc()
        self._waiting.append((body, message))
        if not self._dispatching:
            self._start_dispatch()

    def _start_dispatch(self) -> None:
        self._dispatching = True
        self.container.spawn_managed_thread(self._dispatch, identifier=f"{self.method_name}.batches")

    def _dispatch(self) -> None:
        try:
            while self._waiting:
                eventlet.sleep(0)  # let messages already read from the socket join this batch
                self._slots.acquire()  # meanwhile the next batch gathers
                batch = [self._waiting.popleft() for _ in range(min(self.batch_size, len(self._waiting)))]
                bodies, messages = [body for body, _ in batch], [message for _, message in batch]
                context = self.unpack_message_headers(messages[0])
                correlation = correlation_of(bodies[0])
                if correlation:
                    context.setdefault(CORRELATION_KEY, correlation)
                traceparent = tracing.carried(bodies[0], messages[0].headers)  # the batch joins its first's trace
                if traceparent:
                    context[tracing.KEY] = traceparent
                metrics.EVENT_BATCH_SIZE.labels(self.container.service_name, self.event_type).observe(len(batch))
                self._in_flight += 1
                try:
                    self.container.spawn_worker(
                        self,
                        (bodies,),
                        {},
                        context_data=context,
                        handle_result=functools.partial(self.handle_batch_result, messages),
                    )
                except ContainerBeingKilled:  # the connection goes too: the broker takes them back
                    self._in_flight -= 1
                    self._slots.release()
                    return
        finally:
            self._dispatching = False

    def handle_batch_result(
        self, messages: list[Any], worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> Any:
        try:
            outcomes = result if exc_info is None else [exc_info[1]] * len(messages)
            if not any(isinstance(outcome, BaseException) for outcome in outcomes):
                self._ack_all(messages, outcomes)
                return None, exc_info
            for message, outcome in zip(messages, outcomes):
                failed = isinstance(outcome, BaseException)
                self.settle(message, None if failed else outcome, outcome if failed else None)
        finally:
            self._held.dec(len(messages))
            self._in_flight -= 1
            self._slots.release()
        return None, exc_info

    def _ack_all(self, messages: list[Any], outcomes: list[Any]) -> None:
        """Ack a batch that raised nothing, every ack in one socket write (acking does not
        yield, so nothing else writes on the connection meanwhile). If the write fails the
        broker redelivers the batch and the inbox skips it."""
        connection = messages[0].channel.connection
        try:
            with one_write(connection) if connection else contextlib.nullcontext():
                for message, outcome in zip(messages, outcomes):
                    self.settle(message, outcome, None)
        except (OSError, AMQPError, KombuError) as exc:
            log.warning(
                "could not ack %d %s deliveries (%s); the broker redelivers them", len(messages), self.event_type, exc
            )


def consumes(
    source: str,
    event_type: str,
    version: int = 1,
    db_attribute: str = "db",
    prepare: Callable[[Any, UnitOfWork, list[Envelope]], Any] | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Decorate ``method(self, uow: UnitOfWork, event: Envelope)`` as an idempotent,
    durable handler of ``event_type`` events from ``source`` at schema ``version``.

    Events waiting in the queue are handled in batches, one transaction per batch: the
    inbox claims, the handler's effects, the outbox rows and the audit rows of up to
    ``EVENT_BATCH_SIZE`` events are committed together and their messages acked
    together. ``prepare(self, uow, events)``, if given, runs once per batch before the
    handler, e.g. to lock every row the batch will touch in one statement and in one
    order; what it returns is passed to each of the batch's handler calls as a third
    argument, ``method(self, uow, event, prepared)``. If a batch fails, its events are
    handled again one per transaction, so one bad event is retried and parked alone.

    During a deprecation window the publisher sends each change in the old and the new
    version; a handler takes only the version it was written for and acks the other."""

    def decorate(method: Callable[..., Any]) -> Any:
        @functools.wraps(method)
        def handle(self: Any, bodies: list[Any]) -> list[Any]:
            outcomes: list[Any] = [None] * len(bodies)
            pending: list[tuple[int, Envelope]] = []
            for index, body in enumerate(bodies):
                try:
                    event = parse_envelope(body)
                except ValidationError as exc:
                    # Malformed: retrying cannot help, but it must not vanish either.
                    outcomes[index] = ValueError(f"malformed {event_type} envelope: {exc.messages}")
                    continue
                if event.version != version:
                    outcomes[index] = OTHER_VERSION
                else:
                    pending.append((index, event))
            if not pending:
                return outcomes
            database = getattr(self, db_attribute)
            apply = functools.partial(_apply, self, database, method=method, prepare=prepare)
            try:
                results = apply([event for _, event in pending])
            except Exception as exc:  # noqa: BLE001 - settled per event below
                if len(pending) == 1:
                    outcomes[pending[0][0]] = exc
                    return outcomes
                log.warning(
                    "a batch of %d %s events failed (%s); handling them one by one",
                    len(pending),
                    event_type,
                    str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
                )
                for index, event in pending:
                    try:
                        outcomes[index] = apply([event])[0]
                    except Exception as single:  # noqa: BLE001 - retried, then parked
                        outcomes[index] = single
                return outcomes
            for (index, _), result in zip(pending, results):
                outcomes[index] = result
            return outcomes

        # the same transaction path without nameko, for profiling a batch in one process
        handle.apply_batch = functools.partial(_apply, method=method, prepare=prepare)  # type: ignore[attr-defined]  # a function attribute, for profiling
        return BatchingEventHandler.decorator(source, event_type)(handle)

    return decorate


def _apply(
    service: Any,
    database: Any,
    events: list[Envelope],
    *,
    method: Callable[..., Any],  # (self, uow, event), or (self, uow, event, prepared)
    prepare: Callable[[Any, UnitOfWork, list[Envelope]], Any] | None,
) -> list[Any]:
    """Handle ``events`` in one transaction, retrying it while the database is away;
    one outcome per event (the handler's result, or ``DUPLICATE``)."""
    deadline = time.monotonic() + TRANSIENT_RETRY_SECONDS
    pause = 0.1
    while True:
        outcomes: list[Any] = []
        try:
            with database.transaction(correlation_id=events[0].correlation_id) as uow:
                claimed = uow.claim(events)
                prepared = None
                if prepare is not None and claimed:
                    prepared = prepare(service, uow, [event for event in events if event.id in claimed])
                emitted: list[list[Envelope]] = []
                delay = faults.handler_delay()
                for event in events:
                    if event.id not in claimed:
                        outcomes.append(DUPLICATE)
                        emitted.append([])
                        continue
                    claimed.discard(event.id)  # the same event twice in one batch: once
                    logs.bind(correlation_id=event.correlation_id)
                    uow.step(event.correlation_id)
                    outcomes.append(
                        method(service, uow, event) if prepare is None else method(service, uow, event, prepared)
                    )
                    if delay:
                        eventlet.sleep(delay)
                    emitted.append(uow.step_events)
            break
        except Exception as exc:  # only transient database errors are retried
            if not transient(exc) or time.monotonic() + pause > deadline:
                raise
            log.warning(
                "database unavailable handling %d %s events (%s); retrying in %.1fs",
                len(events),
                events[0].type,
                str(exc).splitlines()[0][:200],
                pause,
            )
            eventlet.sleep(pause)
            pause = min(pause * 2, 2.0)
    now = datetime.now(timezone.utc)
    lag = metrics.EVENT_LAG.labels(service.name, events[0].type)  # a handler's batch is of one type
    for event, outcome, sent in zip(events, outcomes, emitted):
        if outcome is DUPLICATE:
            continue
        lag.observe(max((now - event.occurred_at).total_seconds(), 0.0))
        # one line per applied event: with its correlation id it shows a request's path
        log.info(
            "handled %s",
            event.type,
            extra={
                "correlation_id": event.correlation_id,
                "fields": {"event_type": event.type, "event_id": event.id, "emitted": [e.type for e in sent]},
            },
        )
    return outcomes
