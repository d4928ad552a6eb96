"""The relay half of the transactional outbox.

Events are written to the ``outbox`` table in the same transaction as the change they
announce (see :mod:`yilin.db`). After the commit the worker hands them to the relay's
publisher and waits until the broker has confirmed them; a background marker records
them as sent in batches, and a periodic sweep publishes whatever a crash left unsent.
Publishing is therefore at-least-once; consumers de-duplicate by event id
(:mod:`yilin.inbox`).

The publisher is one greenthread that takes every event waiting from all workers at
once and publishes them with pipelined confirms (:mod:`yilin.confirms`): one broker
round trip per batch instead of one per event, however many workers commit at once."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, Iterable, Mapping

import eventlet
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from sqlalchemy import ARRAY, Engine, Table, any_, bindparam, func, select, update

from yilin import events, metrics, tracing
from yilin.confirms import Outgoing, PipelinedPublisher
from yilin.events import Envelope
from yilin.topology import event_exchange

__all__ = ["OutboxRelay", "backlog", "event_exchange", "outbox_row"]  # event_exchange: still importable from here

log = logging.getLogger(__name__)

# Ids per sent-mark statement: a batch import's 1,000 events are one UPDATE, not two.
MARK_BATCH = 2000


def outbox_row(envelope: Envelope) -> dict[str, Any]:
    """The outbox row of an event just emitted. Its message is serialised here, once, as
    the JSON column would (``json.dumps``): the row stores that text as it is and the
    relay publishes it as the body."""
    return {
        "id": envelope.id,
        "type": envelope.type,
        "version": envelope.version,
        "message": json.dumps(tracing.stamp(envelope.id, envelope.to_message())),
        "created_at": envelope.occurred_at,
    }


class OutboxRelay:
    """Publishes one service's committed events; one per service container."""

    def __init__(
        self,
        engine: Engine,
        outbox: Table,
        amqp_uri: str,
        service: str,
        sweep_interval: float = 2.0,
        grace: float = 5.0,
        batch: int = 500,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.service = service
        self.exchange = event_exchange(service)
        self.amqp_uri = amqp_uri
        self.publisher = PipelinedPublisher(amqp_uri)  # the fast path's, owned by the publisher loop
        self.sweep_publisher = PipelinedPublisher(amqp_uri)  # the sweep's own channel
        self.sweep_interval = sweep_interval
        self.grace = timedelta(seconds=grace)
        self.batch = batch
        self._sent: LightQueue = LightQueue()
        self._unmarked: set[str] = set()  # published here, sent-mark not yet committed
        self._in_flight: set[str] = set()  # handed to a publish here that has not ended yet
        self._requests: LightQueue = LightQueue()
        self._publishing = False
        self._publisher_thread: eventlet.greenthread.GreenThread | None = None
        self._threads: list[eventlet.greenthread.GreenThread] = []
        self._running = False

    @cached_property
    def _mark(self) -> Any:
        # built on first use: a relay that only publishes needs no database
        return _sent_mark(self.engine, self.outbox)

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        """Start the sent-marker and the sweep."""
        self._running = self._publishing = True
        self._threads = [eventlet.spawn(self._mark_loop), eventlet.spawn(self._sweep_loop)]
        self._publisher_thread = eventlet.spawn(self._publish_loop)

    def stop(self) -> None:
        """Stop the loops after publishing what workers handed over and recording every
        event already published as sent."""
        self._publishing = False
        if self._publisher_thread is not None:
            self._publisher_thread.wait()
        self._running = False
        for thread in self._threads:
            thread.wait()
        self._threads = []
        self.publisher.close()
        self.sweep_publisher.close()

    def kill(self) -> None:
        """Stop at once; unsent or unmarked rows are left for the next sweep."""
        self._running = self._publishing = False
        for thread in [*self._threads, self._publisher_thread]:
            if thread is not None:
                thread.kill()
        self._threads = []
        self._fail_waiting()

    # -- publishing ------------------------------------------------------------------
    def _outgoing(self, envelope: Envelope, body: str | None = None) -> Outgoing:
        """The message of ``envelope``; ``body``, its outbox row's JSON text, is published
        as it is (it holds the trace context the headers carry), else it is built again."""
        if body is not None:
            headers = tracing.publish_headers(envelope.id, None)
            # to_message() is always a CloudEvent: no need to parse the body to say so
            return Outgoing(self.exchange, envelope.type, body.encode(), envelope.id, headers, events.CONTENT_TYPE)
        message = envelope.to_message()
        headers = tracing.publish_headers(envelope.id, message)
        if headers:  # the trace context travels in the body too, as the outbox row holds it
            message = {**message, **headers}
        return Outgoing(self.exchange, envelope.type, message, envelope.id, headers, events.content_type(message))

    def publish_many(self, envelopes: list[Envelope], bodies: Mapping[str, str] | None = None) -> None:
        """Publish events and wait until the broker has confirmed every one; raises if
        it has not. Through the publisher loop when it runs, else on the caller's thread.
        ``bodies``: event id → the JSON text of its outbox row, published as it is."""
        if not envelopes:
            return
        bodies = bodies or {}
        ids = [e.id for e in envelopes]
        # the sweep leaves these rows alone until this ends: published, they are in
        # _unmarked by then; failed, the sweep's next round sends them
        self._in_flight.update(ids)
        try:
            if self._publishing:
                done = Event()
                self._requests.put((envelopes, bodies, done))
                done.wait()  # re-raises the loop's error for this batch
                return
            self.publisher.publish([self._outgoing(e, bodies.get(e.id)) for e in envelopes])
            self._published(envelopes)
        finally:
            self._in_flight.difference_update(ids)

    def _published(self, envelopes: Iterable[Envelope]) -> None:
        published: Counter[str] = Counter()
        for envelope in envelopes:
            published[envelope.type] += 1
            self._unmarked.add(envelope.id)
            self._sent.put(envelope.id)
        for kind, count in published.items():  # a labelled child looked up once per type and batch
            metrics.EVENTS_PUBLISHED.labels(self.service, kind).inc(count)

    def publish_committed(self, envelopes: Iterable[Envelope], bodies: Mapping[str, str] | None = None) -> None:
        """The fast path, right after a commit. A failure leaves the rows to the sweep:
        the change is committed, so the caller must not see an error. ``bodies`` as
        :meth:`publish_many`'s."""
        try:
            envelopes = list(envelopes)
            with tracing.span("outbox.publish", **{"messaging.batch.message_count": len(envelopes)}):
                self.publish_many(envelopes, bodies)
        except Exception:  # the sweep retries; the commit stands
            log.warning("publish after commit failed; the outbox sweep will retry", exc_info=True)

    def _publish_loop(self) -> None:
        """Publish everything workers have handed over, batch after batch."""
        while self._publishing or not self._requests.empty():
            try:
                first = self._requests.get(timeout=0.05)
            except Empty:
                continue
            requests = [first]
            count = len(first[0])
            while count < self.batch:
                try:
                    request = self._requests.get_nowait()
                except Empty:
                    break
                requests.append(request)
                count += len(request[0])
            try:
                self.publisher.publish(
                    [self._outgoing(e, bodies.get(e.id)) for batch, bodies, _ in requests for e in batch]
                )
            except Exception as exc:  # noqa: BLE001 - each waiting worker logs it; the sweep retries
                for _, _, done in requests:
                    done.send_exception(type(exc), exc, exc.__traceback__)
                continue
            self._published(e for batch, _, _ in requests for e in batch)
            for _, _, done in requests:
                done.send(None)

    def _fail_waiting(self) -> None:
        while True:
            try:
                _, _, done = self._requests.get_nowait()
            except Empty:
                return
            done.send_exception(RuntimeError, RuntimeError("the outbox relay was killed"), None)

    def sweep(self) -> int:
        """Publish every unsent event older than the grace period; return how many.

        Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so replicas sweeping at once
        share the work instead of publishing the same rows."""
        outbox = self.outbox
        cutoff = datetime.now(timezone.utc) - self.grace
        published = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.message)
                .where(outbox.c.sent_at.is_(None), outbox.c.created_at < cutoff)
                .order_by(outbox.c.created_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            # Rows this process already published only wait for their sent-mark; rows whose
            # publish is still waiting for its confirm (slow under load, beyond the grace
            # period) are neither sent again nor marked: that publish decides.
            confirmed = self._unmarked & {row.id for row in rows}
            unsent = [row for row in rows if row.id not in confirmed and row.id not in self._in_flight]
            if unsent:
                self.sweep_publisher.publish(
                    [
                        Outgoing(
                            self.exchange,
                            events.routing_key(row.message),  # a row written before the upgrade: the first envelope
                            row.message,
                            row.id,
                            tracing.publish_headers(row.id, row.message),
                            events.content_type(row.message),
                        )
                        for row in unsent
                    ]
                )
            for row in unsent:
                metrics.EVENTS_PUBLISHED.labels(self.service, events.routing_key(row.message)).inc()
                published += 1
            sent = [row.id for row in unsent] + list(confirmed)
            if sent:
                conn.execute(self._mark, {"ids": sent, "now": datetime.now(timezone.utc)})
        if published:
            log.info("outbox sweep published %d event(s)", published)
        return published

    # -- background loops ------------------------------------------------------------
    def _mark_loop(self) -> None:
        while self._running or not self._sent.empty():
            ids = self._drain(timeout=0.05)
            if not ids:
                continue
            try:
                with self.engine.begin() as conn:
                    conn.execute(self._mark, {"ids": ids, "now": datetime.now(timezone.utc)})
                self._unmarked.difference_update(ids)
            except Exception:  # unmarked rows are re-sent by the sweep, which is safe
                log.warning("could not mark %d outbox rows as sent", len(ids), exc_info=True)

    def _drain(self, timeout: float) -> list[str]:
        ids: list[str] = []
        try:
            ids.append(self._sent.get(timeout=timeout))
            while len(ids) < MARK_BATCH:
                ids.append(self._sent.get_nowait())
        except Empty:
            pass
        return ids

    def _sweep_loop(self) -> None:
        while self._running:
            eventlet.sleep(self.sweep_interval)
            if not self._running:
                break
            try:
                self.sweep()
                count, age = backlog(self.engine, self.outbox)
                metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
                metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)
            except Exception:  # broker or database away; try next round
                log.warning("outbox sweep failed", exc_info=True)


def _sent_mark(engine: Engine, outbox: Table) -> Any:
    """``UPDATE outbox SET sent_at = :now`` for the rows whose id is in ``:ids``, built
    once. On PostgreSQL the ids are one array parameter (``id = ANY(:ids)``), not one
    bound parameter each for SQLAlchemy to render and the driver to quote."""
    statement = update(outbox).values(sent_at=bindparam("now"))
    if engine.dialect.name == "postgresql":
        return statement.where(outbox.c.id == any_(bindparam("ids", type_=ARRAY(outbox.c.id.type))))
    return statement.where(outbox.c.id.in_(bindparam("ids", expanding=True)))


def backlog(engine: Engine, outbox: Table) -> tuple[int, float]:
    """Unsent events and the age in seconds of the oldest."""
    with engine.connect() as conn:
        count, oldest = conn.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
        ).one()
    if not oldest:
        return 0, 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return int(count), max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds())
