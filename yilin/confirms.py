"""Publishing with pipelined publisher confirms.

A confirming publish that waits for each message's confirm pays one broker round trip
(and, on a quorum queue, one log fsync) per message. Here a batch is written to the
channel back to back and the confirms are awaited once for the whole batch, so the
broker can confirm many messages with one ``multiple`` ack. Every message is still
confirmed (or the batch raises) before :meth:`PipelinedPublisher.publish` returns.
The batch's frames are built directly (:func:`publish_frames`) and written to the socket
at once, not one write per message.

One publisher owns one channel: use it from one greenthread at a time."""

from __future__ import annotations

import json
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from struct import pack
from typing import Any, Iterable, Iterator

from amqp import spec
from amqp.method_framing import frame_writer
from amqp.serialization import dumps
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


_PUBLISH = pack(">HHH", *spec.Basic.Publish, 0)  # basic.publish, its reserved ticket 0
_PERSISTENT = b"\x02"  # delivery_mode 2
# content_type, content_encoding, application_headers, delivery_mode, message_id: the
# bits of basic's property flags, in the order of its property list
_TYPE, _ENCODING, _HEADERS, _MODE, _MESSAGE_ID = 0x8000, 0x4000, 0x2000, 0x1000, 0x0080


def _shortstr(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogatepass")
    return pack("B", len(raw)) + raw


def _frame(kind: int, channel_id: int, payload: bytes) -> bytes:
    return pack(">BHI", kind, channel_id, len(payload)) + payload + b"\xce"


def publish_frames(channel_id: int, frame_max: int, message: Outgoing) -> bytes:
    """The frames of ``message`` as a persistent ``basic.publish`` on ``channel_id``:
    the bytes py-amqp's ``basic_publish`` writes for it (its method frame, its content
    header, its body in frames of at most ``frame_max``), built directly instead of
    through its generic method and property serialisers."""
    body = (
        message.body if isinstance(message.body, bytes) else json.dumps(message.body).encode(message.content_encoding)
    )
    # mandatory and immediate off: one octet of bits
    method = _PUBLISH + _shortstr(message.exchange.name) + _shortstr(message.routing_key) + b"\x00"
    flags = _TYPE | _ENCODING | _MODE
    properties = [_shortstr(message.content_type), _shortstr(message.content_encoding)]
    if message.headers:
        flags |= _HEADERS
        properties.append(dumps("F", [message.headers]))
    properties.append(_PERSISTENT)
    if message.message_id:
        flags |= _MESSAGE_ID
        properties.append(_shortstr(message.message_id))
    header = pack(">HHQH", spec.Basic.Publish[0], 0, len(body), flags) + b"".join(properties)
    chunk = frame_max - 8
    frames = [_frame(1, channel_id, method), _frame(2, channel_id, header)]
    frames += [_frame(3, channel_id, body[i : i + chunk]) for i in range(0, len(body), chunk)]
    return b"".join(frames)


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
        # One socket write for the batch (framing never yields, so nothing else writes
        # on the connection meanwhile); then the confirms are read.
        connection = channel.connection
        frame_max, channel_id = connection.frame_max, channel.channel_id
        connection.transport.write(b"".join([publish_frames(channel_id, frame_max, m) for m in messages]))
        connection.bytes_sent += len(messages)  # as py-amqp counts its writes, for heartbeats
        count = len(messages)
        self._outstanding.update(range(self._next_tag + 1, self._next_tag + count + 1))
        self._next_tag += count
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

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - already broken; nothing to release
                pass
        self._connection, self._channel = None, None
