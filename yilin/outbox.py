"""The relay half of the transactional outbox.

Events are written to the ``outbox`` table in the same transaction as the change they
announce (see :mod:`yilin.db`). After the commit the worker publishes them straight
away with publisher confirms; a background marker records them as sent in batches, and
a periodic sweep publishes whatever a crash left unsent. Publishing is therefore
at-least-once; consumers de-duplicate by event id (:mod:`yilin.inbox`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Iterable

import eventlet
from eventlet.queue import Empty, LightQueue
from kombu import Exchange
from nameko.amqp.publish import Publisher
from sqlalchemy import Engine, Table, func, select, update

from yilin import metrics
from yilin.events import Envelope

log = logging.getLogger(__name__)


def event_exchange(service: str) -> Exchange:
    """The topic exchange a service publishes its events to (nameko's own naming)."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False, delivery_mode=2)


class OutboxRelay:
    """Publishes one service's committed events; one per service container."""

    def __init__(self, engine: Engine, outbox: Table, amqp_uri: str, service: str,
                 sweep_interval: float = 2.0, grace: float = 5.0, batch: int = 500) -> None:
        self.engine = engine
        self.outbox = outbox
        self.service = service
        self.exchange = event_exchange(service)
        self.publisher = Publisher(amqp_uri, use_confirms=True, serializer="json",
                                   retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                             "interval_step": 0.5, "interval_max": 1})
        self.sweep_interval = sweep_interval
        self.grace = timedelta(seconds=grace)
        self.batch = batch
        self._sent: LightQueue = LightQueue()
        self._unmarked: set[str] = set()  # published here, sent-mark not yet committed
        self._threads: list[eventlet.greenthread.GreenThread] = []
        self._running = False

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        """Start the sent-marker and the sweep."""
        self._running = True
        self._threads = [eventlet.spawn(self._mark_loop), eventlet.spawn(self._sweep_loop)]

    def stop(self) -> None:
        """Stop the loops after recording every event already published as sent."""
        self._running = False
        for thread in self._threads:
            thread.wait()
        self._threads = []

    def kill(self) -> None:
        """Stop at once; unsent or unmarked rows are left for the next sweep."""
        self._running = False
        for thread in self._threads:
            thread.kill()
        self._threads = []

    # -- publishing ------------------------------------------------------------------
    def publish(self, envelope: Envelope) -> None:
        """Publish one event and wait for the broker's confirm."""
        self.publisher.publish(
            envelope.to_message(),
            exchange=self.exchange,
            routing_key=envelope.type,
            message_id=envelope.id,
            declare=[self.exchange],
        )
        metrics.EVENTS_PUBLISHED.labels(self.service, envelope.type).inc()

    def publish_committed(self, envelopes: Iterable[Envelope]) -> None:
        """The fast path, right after a commit. A failure leaves the rows to the sweep:
        the change is committed, so the caller must not see an error."""
        try:
            for envelope in envelopes:
                self.publish(envelope)
                self._unmarked.add(envelope.id)
                self._sent.put(envelope.id)
        except Exception:  # noqa: BLE001 - the sweep retries; the commit stands
            log.warning("publish after commit failed; the outbox sweep will retry", exc_info=True)

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
            for row in rows:
                if row.id in self._unmarked:  # this process already published it; only the mark is late
                    continue
                message = row.message
                self.publisher.publish(
                    message, exchange=self.exchange, routing_key=message["type"],
                    message_id=row.id, declare=[self.exchange],
                )
                metrics.EVENTS_PUBLISHED.labels(self.service, message["type"]).inc()
                published += 1
            if rows:
                conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                             .values(sent_at=datetime.now(timezone.utc)))
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
                    conn.execute(update(self.outbox).where(self.outbox.c.id.in_(ids))
                                 .values(sent_at=datetime.now(timezone.utc)))
                self._unmarked.difference_update(ids)
            except Exception:  # noqa: BLE001 - unmarked rows are re-sent by the sweep, which is safe
                log.warning("could not mark %d outbox rows as sent", len(ids), exc_info=True)

    def _drain(self, timeout: float) -> list[str]:
        ids: list[str] = []
        try:
            ids.append(self._sent.get(timeout=timeout))
            while len(ids) < self.batch:
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
            except Exception:  # noqa: BLE001 - broker or database away; try next round
                log.warning("outbox sweep failed", exc_info=True)


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
