"""What happens to a message whose handler raised: retried, then parked, never requeued.

A requeue (and a delivery handed back by a consumer that died) spends one of the quorum
queue's delivery attempts, which are sized for crashes (:data:`yilin.topology.DELIVERY_LIMIT`).
Handler failures are counted in the message itself instead: the failed message is
republished with :data:`~yilin.topology.FAILURES_HEADER` one higher through the service's
own retry exchange, to the back of the queue it came from, and on the
:data:`~yilin.topology.FAILURE_LIMIT`-th failure it is published to the service's
dead-letter exchange. Either publish is confirmed by the broker before the delivery is
acked, so a crash in between leaves a duplicate (which the inbox absorbs), never a loss."""

from __future__ import annotations

import logging
from typing import Any

from eventlet.semaphore import Semaphore

from yilin.confirms import Outgoing, PipelinedPublisher
from yilin.topology import (
    ERROR_HEADER,
    FAILURE_LIMIT,
    FAILURES_HEADER,
    QUEUE_HEADER,
    dead_letter_exchange,
    retry_exchange,
)

log = logging.getLogger(__name__)

RETRIED = "retried"
DEAD_LETTERED = "dead_lettered"

# Headers the broker sets on a delivery; a republished copy starts without them.
_BROKER_HEADERS = ("x-death", "x-delivery-count", "x-first-death-exchange", "x-first-death-queue")


def failures(headers: dict[str, Any] | None) -> int:
    """How many times handlers have failed on this message so far."""
    try:
        return int((headers or {}).get(FAILURES_HEADER, 0) or 0)
    except (TypeError, ValueError):
        return 0


class FailureRouter:
    """Retries or parks the failed messages of one handler queue of ``service``."""

    def __init__(self, amqp_uri: str, service: str, queue: str) -> None:
        self.service = service
        self.queue = queue
        self._publisher = PipelinedPublisher(amqp_uri)
        self._lock = Semaphore(1)  # one publisher, one channel: one greenthread at a time

    def route(self, message: Any, error: BaseException) -> str:
        """Publish ``message`` (a kombu message) again, counted, and wait for the broker's
        confirm: back to its queue (``"retried"``) or, at the limit, into the DLQ
        (``"dead_lettered"``). The caller acks the delivery afterwards. Raises if the
        broker did not confirm; the delivery must then be handed back instead."""
        count = failures(message.headers) + 1
        headers = {k: v for k, v in (message.headers or {}).items() if k not in _BROKER_HEADERS}
        headers[FAILURES_HEADER] = count
        parked = count >= FAILURE_LIMIT
        if parked:
            headers[QUEUE_HEADER] = self.queue
            headers[ERROR_HEADER] = f"{type(error).__name__}: {error}"[:500]
        outgoing = Outgoing(
            exchange=dead_letter_exchange(self.service) if parked else retry_exchange(self.service),
            routing_key=self.queue,
            body=message.body if isinstance(message.body, bytes) else str(message.body).encode(),
            message_id=message.properties.get("message_id"),
            headers=headers,
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8",
        )
        with self._lock:
            self._publisher.publish([outgoing])
        return DEAD_LETTERED if parked else RETRIED

    def close(self) -> None:
        """Release the publisher's connection."""
        with self._lock:
            self._publisher.close()
