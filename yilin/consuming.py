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
from nameko.messaging import QueueConsumer
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from yilin import logs, metrics, tracing
from yilin.db import UnitOfWork
from yilin.events import SERIALIZER, Envelope, correlation_of, parse_envelope
from yilin.logs import CORRELATION_KEY
from yilin.topology import DELIVERY_LIMIT, DeclaredQueue, handler_queue

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

# Up to this many events per transaction, this many transactions at a time per handler;
# the prefetch lets the next batch gather while one commits. All three are settings
# (``EVENT_BATCH_SIZE``, ``EVENT_BATCH_CONCURRENCY``, ``EVENT_PREFETCH``).
DEFAULT_BATCH_SIZE = 100
DEFAULT_PREFETCH = 200
DEFAULT_BATCH_CONCURRENCY = 2


def transient(exc: BaseException) -> bool:
    """A database failure that says nothing about the message: connection lost, server
    restarting, deadlock or serialisation failure."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class DurableEventHandler(EventHandler, DeclaredQueue):
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
        self._count(message, result, exc_info[1] if exc_info else None)
        return super().handle_result(message, worker_ctx, None if _skip_reason(result) else result, exc_info)

    def _count(self, message: Any, result: Any, error: BaseException | None) -> None:
        """Log a failure and count the message's outcome."""
        if error is None:
            outcome = _skip_reason(result) or "ok"
        else:
            previous = int((message.headers or {}).get("x-delivery-count", 0) or 0)
            outcome = "dead_lettered" if previous >= DELIVERY_LIMIT else "retried"
            log.warning(
                "handler %s failed on %s (%s)",
                self.method_name,
                self.event_type,
                outcome,
                exc_info=(type(error), error, error.__traceback__),
            )
        metrics.EVENTS_HANDLED.labels(self.container.service_name, self.event_type, outcome).inc()
        if (message.delivery_info or {}).get("redelivered"):
            metrics.EVENTS_REDELIVERED.labels(self.container.service_name, self.event_type).inc()

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        # nameko only expects amqp's ConnectionError here; a socket reset while acking
        # (broker gone, network cut) would escape and kill the whole container. The
        # broker has already taken the message back with its connection, so it will be
        # delivered again and the inbox will skip it: log, and carry on.
        try:
            super().handle_message_processed(message, result, exc_info)
        except (OSError, AMQPError, KombuError) as exc:
            log.warning("could not settle a %s delivery (%s); the broker redelivers it", self.event_type, exc)


class BatchQueueConsumer(QueueConsumer):
    """The queue consumer of batching handlers: a deeper prefetch than nameko's (one
    message per worker), so that a batch can gather while the previous one commits."""

    @property
    def prefetch_count(self) -> int:
        return int(self.container.config.get("EVENT_PREFETCH", DEFAULT_PREFETCH))

    @property
    def accept(self) -> list[str]:
        # CloudEvents (application/cloudevents+json) and the first envelope (JSON).
        return [*self.container.accept, SERIALIZER]

    def handle_message(self, provider: Any, body: Any, message: Any) -> None:
        # nameko spawns a greenthread per delivery to hand it over; a batching handler
        # only queues it, which cannot block, so it is handed over in place.
        provider.handle_message(body, message)


class BatchingEventHandler(DurableEventHandler):
    """A durable handler whose worker takes every message waiting, up to the batch size.

    Messages are collected as the broker delivers them; while all workers are busy they
    pile up, so batches grow with the load and a lone message is handled at once. The
    worker returns one outcome per message: acked when handled or skipped, requeued when
    it raised (the delivery limit then dead-letters it)."""

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
        self._dispatching = self._stopping = False

    def stop(self) -> None:
        # No new batch once stopping: a worker started after nameko has waited for the
        # running ones would be cut off mid-transaction. What waits goes back to the queue.
        self._stopping = True
        super().stop()
        self._give_back()

    def _give_back(self) -> None:
        while self._waiting:
            self.queue_consumer.requeue_message(self._waiting.popleft()[1])

    def handle_message(self, body: Any, message: Any) -> None:
        if self._stopping:
            self.queue_consumer.requeue_message(message)
            return
        self._waiting.append((body, message))
        if not self._dispatching:
            self._dispatching = True
            self.container.spawn_managed_thread(self._dispatch, identifier=f"{self.method_name}.batches")

    def _dispatch(self) -> None:
        try:
            while self._waiting:
                eventlet.sleep(0)  # let messages already read from the socket join this batch
                self._slots.acquire()  # meanwhile the next batch gathers
                if self._stopping:
                    self._slots.release()
                    self._give_back()
                    break
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
                try:
                    self.container.spawn_worker(
                        self,
                        (bodies,),
                        {},
                        context_data=context,
                        handle_result=functools.partial(self.handle_batch_result, messages),
                    )
                except ContainerBeingKilled:
                    self._slots.release()
                    for message in messages:
                        self.queue_consumer.requeue_message(message)
        finally:
            self._dispatching = False

    def handle_batch_result(
        self, messages: list[Any], worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> Any:
        self._slots.release()
        outcomes = result if exc_info is None else [exc_info[1]] * len(messages)
        for message, outcome in zip(messages, outcomes):
            failed = isinstance(outcome, BaseException)
            self._count(message, outcome, outcome if failed else None)
            self.handle_message_processed(
                message, None, (type(outcome), outcome, outcome.__traceback__) if failed else None
            )
        return None, exc_info


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
    argument, ``method(self, uow, event, prepared)``. If a batch fails, its events are handled again one per transaction, so one
    bad event is retried and dead-lettered alone.

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
                    except Exception as single:  # noqa: BLE001 - requeued, then dead-lettered
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
