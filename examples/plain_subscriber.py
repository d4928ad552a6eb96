#!/usr/bin/env python3
"""A Yilin event subscriber with no nameko: plain AMQP 0-9-1 through pika.

Every event is a CloudEvent 1.0 in structured content mode: the message body is the JSON
CloudEvent (``application/cloudevents+json``), and its ``data`` follows the JSON Schema
whose ``$id`` is the event's ``dataschema`` (docs/events/<type>.v<version>.json).

It owns a durable quorum queue (default ``example.plain``) whose rejected messages go to
its own dead-letter exchange and queue (``example.plain.dlx`` → ``example.plain.dlq``),
binds it to the events it wants on the services' ``<service>.events`` topic exchanges
(which Yilin declares: a subscriber never declares them), checks every message against
the published JSON Schemas (docs/events/) and acks only after processing. A message that is not a valid event is dead-lettered at once; one
whose processing fails is requeued, and dead-lettered after ``DELIVERY_LIMIT`` tries.

Run it (see docs/subscribing.md)::

    pip install pika jsonschema rfc3339-validator
    python examples/plain_subscriber.py --url amqp://guest:guest@localhost:5672/%2F \\
        --bind 'registry.events:volunteer.*' --bind registry.events:team.member_joined
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import pika
from jsonschema import Draft7Validator, FormatChecker

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"
DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"
DEFAULT_BINDINGS = ("registry.events:volunteer.*", "registry.events:team.*")
DELIVERY_LIMIT = 5  # redeliveries of a message whose processing keeps failing, then the DLQ

log = logging.getLogger("plain_subscriber")


class EventSchemas:
    """The published JSON Schemas, read from docs/events/: the CloudEvent every event is
    (cloudevent.json), and each ``data`` schema by its ``$id`` (an event's ``dataschema``)."""

    def __init__(self, folder: Path = SCHEMAS) -> None:
        self.event = Draft7Validator(
            json.loads((folder / "cloudevent.json").read_text()), format_checker=FormatChecker()
        )
        self.validators: dict[str, Draft7Validator] = {}
        for path in sorted(folder.glob("*.v*.json")):
            schema = json.loads(path.read_text())
            self.validators[schema["$id"]] = Draft7Validator(schema, format_checker=FormatChecker())

    def knows(self, event: dict[str, Any]) -> bool:
        return event.get("dataschema") in self.validators

    def errors(self, event: dict[str, Any]) -> list[str]:
        """Why ``event`` is not a valid event of its type and version ([] if it is)."""
        found = list(self.event.iter_errors(event))
        if isinstance(event.get("data"), dict):  # else the CloudEvent schema has said so
            found += self.validators[event["dataschema"]].iter_errors(event["data"])
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(event)'}: {e.message}"
            for e in sorted(found, key=lambda e: list(map(str, e.absolute_path)))
        ]


def parse_binding(text: str) -> tuple[str, str]:
    """``"registry.events:volunteer.*"`` → ``("registry.events", "volunteer.*")``."""
    exchange, sep, routing_key = text.partition(":")
    if not sep or not exchange or not routing_key:
        raise argparse.ArgumentTypeError(f"expected EXCHANGE:ROUTING_KEY, got {text!r}")
    return exchange, routing_key


def declare(channel: Any, queue: str, bindings: list[tuple[str, str]]) -> None:
    """Declare the subscriber's own queue, its dead-letter exchange and queue, and bind
    it to the events it wants. Idempotent: safe on every start. The events exchanges are
    Yilin's: binding to one that does not exist yet fails (404), never creates it."""
    dlx, dlq = f"{queue}.dlx", f"{queue}.dlq"
    channel.exchange_declare(dlx, exchange_type="fanout", durable=True)
    channel.queue_declare(dlq, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(dlq, dlx)
    channel.queue_declare(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",  # replicated, survives a broker node
            "x-dead-letter-exchange": dlx,  # rejected and exhausted messages go here
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )
    for exchange, routing_key in bindings:
        channel.queue_bind(queue, exchange, routing_key=routing_key)


class Subscriber:
    """Consumes one queue; ``process(event)`` is called once per valid event."""

    def __init__(
        self,
        url: str,
        queue: str,
        bindings: list[tuple[str, str]],
        process: Callable[[dict[str, Any]], None],
        schemas: EventSchemas | None = None,
        prefetch: int = 50,
    ) -> None:
        self.url, self.queue, self.bindings, self.process = url, queue, bindings, process
        self.schemas = schemas or EventSchemas()
        self.prefetch = prefetch
        self.stopping = False
        self._seen: OrderedDict[str, None] = OrderedDict()  # recent event ids: delivery is at least once

    def run(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        channel = connection.channel()
        declare(channel, self.queue, self.bindings)
        channel.basic_qos(prefetch_count=self.prefetch)
        channel.basic_consume(self.queue, on_message_callback=self.on_message, auto_ack=False)
        log.info("ready: consuming %s bound to %s", self.queue, ", ".join(f"{e}:{k}" for e, k in self.bindings))
        try:
            while not self.stopping:
                connection.process_data_events(time_limit=0.5)
        finally:
            if connection.is_open:
                connection.close()
        log.info("stopped")

    def on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        tag = method.delivery_tag
        try:
            event = json.loads(body)  # structured mode: the body is the whole CloudEvent
        except ValueError:
            log.error("not JSON, dead-lettering: %r", body[:200])
            channel.basic_nack(tag, requeue=False)
            return
        if not isinstance(event, dict) or "specversion" not in event:
            log.error("not a CloudEvent, dead-lettering: %r", body[:200])
            channel.basic_nack(tag, requeue=False)
            return
        if not self.schemas.knows(event):
            # A version or type this subscriber was not written for (a new version
            # published beside the old one, say): skip it rather than fail on it.
            log.info("skipping %s (%s): no schema for it here", event.get("type"), event.get("dataschema"))
            channel.basic_ack(tag)
            return
        errors = self.schemas.errors(event)
        if errors:
            log.error(
                "invalid %s v%s event %s, dead-lettering: %s",
                event.get("type"),
                event.get("dataversion"),
                event.get("id"),
                "; ".join(errors),
            )
            channel.basic_nack(tag, requeue=False)
            return
        if event["id"] in self._seen:
            channel.basic_ack(tag)
            return
        try:
            self.process(event)
        except Exception:  # requeue; the delivery limit dead-letters a poison message
            log.exception("processing %s %s failed; requeueing", event["type"], event["id"])
            channel.basic_nack(tag, requeue=True)
            return
        channel.basic_ack(tag)  # only now is the event done with
        self._seen[event["id"]] = None
        if len(self._seen) > 10_000:
            self._seen.popitem(last=False)


def printer(record: Path | None) -> Callable[[dict[str, Any]], None]:
    """The example's "processing": log a line, and append the event to ``record`` if given."""

    def process(event: dict[str, Any]) -> None:
        log.info(
            "%s v%s from %s: %s",
            event["type"],
            event["dataversion"],
            event["source"],
            json.dumps(event["data"], ensure_ascii=False, sort_keys=True),
        )
        if record is not None:
            with record.open("a") as out:
                out.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")

    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Subscribe to Yilin events over plain AMQP.")
    parser.add_argument(
        "--url",
        default=os.environ.get("YILIN_AMQP_URL", DEFAULT_URL),
        help="AMQP URL, vhost URL-encoded (default: $YILIN_AMQP_URL or %(default)s)",
    )
    parser.add_argument("--queue", default="example.plain", help="the subscriber's own queue (default: %(default)s)")
    parser.add_argument(
        "--bind",
        action="append",
        type=parse_binding,
        metavar="EXCHANGE:ROUTING_KEY",
        help="repeatable; default: " + " ".join(DEFAULT_BINDINGS),
    )
    parser.add_argument("--schemas", type=Path, default=SCHEMAS, help="folder of the event JSON Schemas")
    parser.add_argument("--record", type=Path, help="append each processed event to this file as a JSON line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    logging.getLogger("pika").setLevel(logging.WARNING)

    bindings = args.bind or [parse_binding(b) for b in DEFAULT_BINDINGS]
    subscriber = Subscriber(args.url, args.queue, bindings, printer(args.record), EventSchemas(args.schemas))

    def stop(signum: int, frame: Any) -> None:
        subscriber.stopping = True  # the loop finishes the current batch, then closes

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    subscriber.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
