"""Publishing with pipelined publisher confirms.

A confirming publish that waits for each message's confirm pays one broker round trip
(and, on a quorum queue, one log fsync) per message. Here a batch is written to the
channel back to back and the confirms are awaited once for the whole batch, so the
broker can confirm many messages with one ``multiple`` ack. Every message is still
confirmed (or the batch raises) before :meth:`PipelinedPublisher.publish` returns.
The batch's frames are written to the socket at once, not one write per message.

One publisher owns one channel: use it from one greenthread at a time."""

from __future__ import annotations

import json
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import amqp
from amqp import spec
from amqp.method_framing import frame_writer
from kombu import Connection, Exchange

from yilin import topology


class NotConfirmed(Exception):
    """The broker refused (nacked) a message, or did not confirm it in time."""


@dataclass(frozen=True)
class Outgoing:
    """One message to publish: JSON ``body`` to ``exchange`` with ``routing_key``; a
    ``bytes`` body goes as it is, with ``content_type`` and ``content_encoding``."""

    exchange: Exchange
    routing_key: str
    body: Any
    message_id: str | None = None
    headers: dict[str, Any] | None = None  # AMQP application headers (trace context)
    content_type: str = "application/json"  # application/cloudevents+json for a CloudEvent
    content_encoding: str = "utf-8"


class _Frames:
    """Collects the frames py-amqp writes, copied (its frame buffer is reused)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: Any) -> None:
        self.chunks.append(bytes(data))


@contextmanager
def one_write(connection: Any) -> Iterator[None]:
    """Send every frame py-amqp writes on ``connection`` inside the block in one socket
    write when it ends, instead of a write (a send through eventlet) per method. The
    block must not yield to another greenthread that could write on the connection; if
    it raises, nothing is sent."""
    frames, direct = _Frames(), connection.frame_writer
    connection.frame_writer = frame_writer(connection, frames)
    try:
        yield
    finally:
        connection.frame_writer = direct
    if frames.chunks:
        connection.transport.write(b"".join(frames.chunks))


class PipelinedPublisher:
    """Persistent JSON messages, confirmed per batch."""

    def __init__(self, amqp_uri: str, timeout: float = 10.0) -> None:
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self._connection: Connection | None = None
        self._channel: Any = None
        self._declared: set[str] = set()
        self._next_tag = 0
        self._outstanding: set[int] = set()
        self._nacked: set[int] = set()

    def _open(self) -> Any:
        if self._channel is None:
            self._connection = topology.connect(self.amqp_uri)
            channel = self._connection.connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._channel, self._next_tag, self._declared = channel, 0, set()
            self._outstanding, self._nacked = set(), set()
        return self._channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._outstanding = {t for t in self._outstanding if t > delivery_tag}
        else:
            self._outstanding.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        done = {t for t in self._outstanding if t <= delivery_tag} if multiple else {delivery_tag}
        self._nacked |= done & self._outstanding
        self._outstanding -= done

    def publish(self, messages: Iterable[Outgoing]) -> int:
        """Publish every message and return once the broker has confirmed them all.
        Raises (and drops the channel, so the next call starts clean) on any failure:
        the caller does not know which messages arrived and must treat all as unsent."""
        batch = list(messages)
        for attempt in (1, 2):
            try:
                return self._publish(batch)
            except NotConfirmed:
                self.close()
                raise
            except Exception:  # a dropped connection: once more on a new one
                self.close()
                if attempt == 2:
                    raise
        return 0

    def _publish(self, messages: list[Outgoing]) -> int:
        channel = self._open()
        for exchange in {m.exchange.name: m.exchange for m in messages}.values():
            if exchange.name not in self._declared:  # a round trip each: before the batch's frames
                channel.exchange_declare(
                    exchange.name, exchange.type, durable=exchange.durable, auto_delete=exchange.auto_delete
                )
                self._declared.add(exchange.name)
        with one_write(channel.connection):  # publishing never yields
            count = self._frame(channel, messages)
        deadline = time.monotonic() + self.timeout
        while self._outstanding:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotConfirmed(f"{len(self._outstanding)} message(s) not confirmed in {self.timeout}s")
            if self._connection is None:
                raise NotConfirmed("the connection closed with messages unconfirmed")
            try:
                self._connection.connection.drain_events(timeout=remaining)
            except socket.timeout:
                continue
        if self._nacked:
            nacked, self._nacked = len(self._nacked), set()
            raise NotConfirmed(f"the broker refused {nacked} message(s)")
        return count

    def _frame(self, channel: Any, messages: list[Outgoing]) -> int:
        for message in messages:
            properties: dict[str, Any] = {
                "content_type": message.content_type,
                "content_encoding": message.content_encoding,
                "delivery_mode": 2,
            }
            if message.message_id:
                properties["message_id"] = message.message_id
            if message.headers:
                properties["application_headers"] = message.headers
            body = message.body if isinstance(message.body, bytes) else json.dumps(message.body)
            # basic.publish's method frame, as channel.basic_publish sends it, without its
            # per-message socket poll and timeout setting: inside one_write nothing reaches
            # the socket until the batch is framed, and confirms are read after it.
            channel.send_method(
                spec.Basic.Publish,
                "Bssbb",
                (0, message.exchange.name, message.routing_key, False, False),
                amqp.Message(body, **properties),
            )
            self._next_tag += 1
            self._outstanding.add(self._next_tag)
        return len(messages)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - already broken; nothing to release
                pass
        self._connection, self._channel = None, None
