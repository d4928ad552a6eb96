"""The queue consumer of batching event handlers, and how long a service may take to stop.

A handler that stops must be able to cancel its subscription (basic.cancel) and still
ack what it holds: nameko's queue consumer closes its connection as soon as the last
subscription is gone, which hands every held delivery back to the broker, and RabbitMQ
3.10 counts each one as a failed delivery attempt on a quorum queue."""

from __future__ import annotations

import errno
import logging
import socket
import types
from typing import Any, Callable

from amqp.transport import TCPTransport
from eventlet.event import Event
from nameko.messaging import QueueConsumer

from yilin.events import SERIALIZER

log = logging.getLogger(__name__)

# Messages the broker may send ahead of the handler (``EVENT_PREFETCH``), so that a batch
# can gather while the previous one commits: two batches' worth (yilin.consuming).
DEFAULT_PREFETCH = 400

# How long a stopping service may take in all (``SHUTDOWN_GRACE_SECONDS``): below
# Kubernetes' default 30 s grace, so the pod exits before it is killed. Handlers finish
# what they hold within the grace minus ``SHUTDOWN_MARGIN_SECONDS``, left for the outbox
# flush and closing connections.
DEFAULT_SHUTDOWN_GRACE = 25.0
SHUTDOWN_MARGIN_SECONDS = 5.0

# How long a stopping handler keeps taking deliveries after its cancel was confirmed, even
# holding nothing: a quorum queue's late delivery (cancel_keeping_late_deliveries) follows
# the cancel-ok within milliseconds.
LATE_DELIVERY_SECONDS = 0.25


# Bytes a delivery connection asks the socket for at least: py-amqp reads exactly what
# the next frame needs, three or more receives per frame (header, payload, end octet),
# nine per delivery; read ahead, one receive serves several deliveries. Small enough
# that keeping the rest (a copy per read) costs less than the receives it saves.
READ_AHEAD = 8192


def read_ahead(transport: Any) -> None:
    """Make a plain TCP py-amqp ``transport`` receive at least :data:`READ_AHEAD` bytes
    whenever its buffer lacks what a read needs; the rest waits in the same buffer
    py-amqp keeps for a frame cut short, so every frame is read as before."""
    if type(transport) is TCPTransport:
        transport._read = types.MethodType(_read_ahead, transport)


def _read_ahead(
    self: Any, n: int, initial: bool = False, _errnos: tuple[int, ...] = (errno.EAGAIN, errno.EINTR)
) -> bytes:
    # TCPTransport._read, except for the size asked of recv
    recv = self._quick_recv
    rbuf = self._read_buffer
    try:
        while len(rbuf) < n:
            try:
                s = recv(max(n - len(rbuf), READ_AHEAD))
            except OSError as exc:
                if exc.errno in _errnos:
                    if initial and self.raise_on_initial_eintr:
                        raise socket.timeout() from None
                    continue
                raise
            if not s:
                raise OSError("Server unexpectedly closed connection")
            rbuf += s
    except BaseException:
        self._read_buffer = rbuf
        raise
    result: bytes = rbuf[:n]
    self._read_buffer = rbuf[n:]
    return result


def cancel_keeping_late_deliveries(consumer: Any) -> tuple[Any, dict[str, Callable[[Any], None]]]:
    """basic.cancel each subscription of ``consumer`` (a kombu consumer on a py-amqp
    channel) and keep handing it the deliveries that still arrive for them after the
    broker's cancel-ok; returns the channel and the callbacks kept, for
    :func:`forget_late_deliveries`.

    A quorum queue may still send a delivery it had already assigned to the consumer
    when the cancel reached it (rabbitmq-server#3729). py-amqp drops a subscription's
    callback on cancel-ok and rejects such a delivery with requeue, which hands it to
    another consumer marked redelivered and spends one of its delivery attempts."""
    channel = consumer.channel
    # kombu keeps a subscription's tag by queue only in this attribute (it has no getter)
    tags = consumer._active_tags.values()
    kept = {tag: channel.callbacks[tag] for tag in tags if tag in channel.callbacks}
    consumer.cancel()
    channel.callbacks.update(kept)
    return channel, kept


def forget_late_deliveries(channel: Any, kept: dict[str, Callable[[Any], None]]) -> None:
    """Drop the callbacks :func:`cancel_keeping_late_deliveries` kept: from now on a late
    delivery goes back to the broker."""
    for tag in kept:
        channel.callbacks.pop(tag, None)


def shutdown_grace(config: dict[str, Any]) -> float:
    """Seconds a service has from SIGTERM to exit."""
    return float(config.get("SHUTDOWN_GRACE_SECONDS") or DEFAULT_SHUTDOWN_GRACE)


class BatchQueueConsumer(QueueConsumer):
    """The queue consumer of batching handlers: a deeper prefetch than nameko's (one
    message per worker), so that a batch can gather while the previous one commits; and
    a cancel that stops deliveries to one handler while the connection stays open, so
    the handler can still ack what it holds."""

    def __init__(self) -> None:
        super().__init__()
        self._pending_remove_providers: dict[Any, Event] = {}  # nameko's, typed
        self._pending_cancels: dict[Any, Event] = {}
        self._draining: set[Any] = set()  # cancelled, not yet unregistered
        self._late: dict[Any, tuple[Any, dict[str, Callable[[Any], None]]]] = {}  # their kept callbacks

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

    def cancel(self, provider: Any) -> None:
        """basic.cancel ``provider``'s subscription and return once the broker has
        confirmed it: every delivery sent before has been handed to the provider, and any
        the queue still sends reaches it until it unregisters."""
        if not self._consumers_ready.ready() or provider not in self._consumers:
            return
        done = Event()
        self._pending_cancels[provider] = done  # only the consumer thread may touch the channel
        done.wait()

    def _cancel_consumers_if_requested(self) -> None:
        cancels, self._pending_cancels = self._pending_cancels, {}
        for provider, done in cancels.items():
            consumer = self._consumers.pop(provider, None)
            if consumer is not None:
                self._draining.add(provider)
                try:
                    self._late[provider] = cancel_keeping_late_deliveries(consumer)
                except Exception as exc:  # noqa: BLE001 - a dead connection cancels everything anyway
                    log.warning("could not cancel a consumer (%s)", exc)
            done.send()
        removals, self._pending_remove_providers = self._pending_remove_providers, {}
        for provider, removed in removals.items():
            self._draining.discard(provider)
            forget_late_deliveries(*self._late.pop(provider, (None, {})))
            consumer = self._consumers.pop(provider, None)
            if consumer is not None:
                consumer.cancel()
            removed.send()

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **kwargs: Any) -> None:
        # after every (re)connection: the new connection's transport reads ahead
        read_ahead(connection.connection.transport)
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        # After a reconnection, a handler that is draining stays unsubscribed.
        consumers = super().get_consumers(consumer_cls, channel)
        for provider in self._draining:
            self._consumers.pop(provider, None)
        return list(self._consumers.values()) if self._draining else consumers

    def on_iteration(self) -> None:
        self._cancel_consumers_if_requested()
        # The connection outlives the subscriptions while a handler still acks.
        if not self._consumers and not self._draining:
            self.should_stop = True
