"""The two example subscribers against the real broker: a scripted scenario runs through
the in-process stack and both examples receive and validate every event type the
scenario's services publish. A tap bound with ``#`` checks every message on the way, and
the CloudEvents SDK (a client no one here wrote) decodes each of them."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1.http import from_json
from jsonschema import Draft7Validator, FormatChecker
from kombu import Connection, Exchange, Producer, Queue

from examples.nameko_subscriber import ExampleSubscriber, subscribe_to
from examples.plain_subscriber import EventSchemas
from tests.contract import scenario
from tests.contract.checks import contract_problems, schemas_by_id
from tests.harness import ROOT, wait_until
from yilin.events import SERIALIZER, SOURCE_PREFIX, TYPE_PREFIX
from yilinctl.contract import event_types


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _kinds(events: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    """``(service, event type, version)`` of each CloudEvent."""
    return {
        (e["source"].removeprefix(SOURCE_PREFIX), e["type"].removeprefix(TYPE_PREFIX), e["dataversion"]) for e in events
    }


def _sdk_decoded_kinds(tapped: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    """Decode every tapped message with the CloudEvents SDK, both its ``from_json`` and its
    RabbitMQ binding (which picks structured mode from the content type), and validate
    each ``data`` against the committed JSON Schema whose ``$id`` its ``dataschema`` is."""
    kinds = set()
    for message in tapped:
        raw = message["raw"]
        event = from_json(raw)
        bound = from_rabbitmq(RabbitMQMessage({}, message["content_type"], raw.encode()), JSONFormat())
        assert event["specversion"] == "1.0" and bound.get_specversion() == "1.0"
        assert (event["id"], event["type"], event["source"]) == (bound.get_id(), bound.get_type(), bound.get_source())
        assert event["datacontenttype"] == "application/json" and event["time"] is not None
        assert event["type"] == TYPE_PREFIX + message["routing_key"]
        assert event["source"] == SOURCE_PREFIX + message["exchange"].removesuffix(".events")
        assert event.get("correlationid") == bound.get_extension("correlationid")
        version = event["dataversion"]
        assert version == bound.get_extension("dataversion") and isinstance(version, int)
        filename, schema = schemas_by_id()[event["dataschema"]]
        assert filename == f"{message['routing_key']}.v{version}.json", (event["dataschema"], filename)
        assert event.data == bound.get_data()
        errors = [e.message for e in Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(event.data)]
        assert not errors, (event["type"], errors)
        kinds.add((event["source"].removeprefix(SOURCE_PREFIX), message["routing_key"], version))
    return kinds


def _queue_depth(amqp_uri: str, name: str) -> int:
    with Connection(amqp_uri) as conn:
        return Queue(name, channel=conn.channel()).queue_declare(passive=True).message_count


def test_format_checks_are_active() -> None:
    """Without rfc3339-validator jsonschema silently skips date-time checks."""
    checker = FormatChecker()
    assert not checker.conforms("2026-11-29 09:00", "date-time")
    assert checker.conforms("2026-11-29T09:00:00Z", "date-time")
    assert not checker.conforms("not-a-uuid", "uuid")


def test_example_subscribers_receive_and_validate_every_event_of_the_scenario(
    stack: Any, tap: Any, amqp_uri: str, container_factory: Any, tmp_path: Path, http: Any
) -> None:
    expected = scenario.expected_events()
    # Every event type of every service that publishes any: the scenario leaves none out.
    assert expected == {(t.source, t.name, t.version) for t in event_types()}
    assert set(scenario.services()) >= {"registry", "tickets", "hours", "fund", "gateway"}
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, event_type, _ in sorted(expected):
        if event_type not in by_source[source]:
            by_source[source].append(event_type)

    # 1. A tap on every exchange with '#'; it declares the exchanges, as `yilin migrate`
    # does before any subscriber binds (subscribers never declare them).
    everything = tap(*by_source)

    # 2. The plain AMQP example as its own process, bound to each event type by name.
    record, log = tmp_path / "plain.jsonl", tmp_path / "plain.log"
    bindings = [arg for source, types in by_source.items() for t in types for arg in ("--bind", f"{source}.events:{t}")]
    with log.open("w") as out:
        plain = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "examples" / "plain_subscriber.py"),
                "--url",
                "amqp" + amqp_uri[len("pyamqp") :],
                "--queue",
                "example.plain",
                "--record",
                str(record),
                *bindings,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: plain.poll() is not None or "ready:" in log.read_text(), 20, what="plain subscriber ready")
        assert plain.poll() is None, log.read_text()

        # 3. The nameko example in-process with its documented config, extended to every event type.
        nameko_received: list[dict[str, Any]] = []
        subscriber = subscribe_to(dict(by_source), sink=nameko_received.append)
        config = yaml.safe_load((ROOT / "examples" / "nameko_subscriber.yaml").read_text())
        container = container_factory(subscriber, {**config, "AMQP_URI": amqp_uri})
        container.start()

        # 4. The scenario.
        s = stack(*scenario.services(), **scenario.CONFIG)
        scenario.run(scenario.Api(s.url, http), {"amqp_uri": amqp_uri})

        def all_received() -> bool:
            return (
                expected <= _kinds(_records(record))
                and expected <= _kinds(nameko_received)
                and expected <= _kinds([json.loads(m["raw"]) for m in everything.messages])
            )

        try:
            wait_until(all_received, 30, what="every event type at both example subscribers")
        except AssertionError:
            raise AssertionError(
                f"missing — plain: {expected - _kinds(_records(record))}, "
                f"nameko: {expected - _kinds(nameko_received)}\n{log.read_text()}"
            ) from None

        # Every message published validates against its committed schema.
        tapped = list(everything.messages)
        problems = {m["routing_key"]: contract_problems(m) for m in tapped}
        assert not any(problems.values()), problems
        # The CloudEvents SDK decodes every event type of the run, each valid against its dataschema.
        assert _sdk_decoded_kinds(tapped) == expected

        # The plain subscriber processed each published event once, and rejected none.
        wait_until(lambda: len(_records(record)) >= len(tapped), 10, what="plain subscriber to catch up")
        assert sorted(e["id"] for e in _records(record)) == sorted(json.loads(m["raw"])["id"] for m in tapped)
        assert "invalid" not in log.read_text() and _queue_depth(amqp_uri, "example.plain.dlq") == 0
        # The nameko example only ever sank events its own validation passed.
        schemas = EventSchemas()
        assert all(not schemas.errors(e) for e in nameko_received)

        # An event that breaks its schema is dead-lettered, never processed.
        bad = {**json.loads(tapped[0]["raw"]), "id": str(uuid.uuid4())}
        bad["data"] = {**bad["data"], next(iter(bad["data"])): 12345}
        with Connection(amqp_uri) as conn:
            exchange = Exchange(tapped[0]["exchange"], type="topic", durable=True)
            Producer(conn.channel()).publish(
                bad, exchange=exchange, routing_key=tapped[0]["routing_key"], serializer=SERIALIZER
            )
        wait_until(lambda: _queue_depth(amqp_uri, "example.plain.dlq") == 1, 10, what="invalid event dead-lettered")
        assert bad["id"] not in {e["id"] for e in _records(record)}
        assert bad["id"] not in {e["id"] for e in nameko_received}
        [tapped_bad] = wait_until(
            lambda: [m for m in everything.messages if json.loads(m["raw"])["id"] == bad["id"]],
            10,
            what="the tap to see the invalid event",
        )
        assert contract_problems(tapped_bad)
    finally:
        plain.terminate()
        code = plain.wait(10)
    assert code == 0, log.read_text()
    assert "stopped" in log.read_text()


def test_nameko_example_binds_what_it_declares() -> None:
    """The example as shipped handles a few types; ``subscribe_to`` adds the rest once."""
    base = {
        (e.source_service, e.event_type)
        for name in dir(ExampleSubscriber)
        for e in getattr(getattr(ExampleSubscriber, name), "nameko_entrypoints", ())
    }
    assert base == {
        ("registry", "volunteer.registered"),
        ("registry", "volunteer.deactivated"),
        ("registry", "team.member_joined"),
    }
    extended = subscribe_to({"registry": ["volunteer.registered", "team.created"]})
    handlers = [
        (e.source_service, e.event_type)
        for name in dir(extended)
        for e in getattr(getattr(extended, name), "nameko_entrypoints", ())
    ]
    assert sorted(handlers) == sorted(base | {("registry", "team.created")})


class FakeChannel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool | None]] = []

    def basic_ack(self, tag: int) -> None:
        self.calls.append(("ack", tag, None))

    def basic_nack(self, tag: int, requeue: bool) -> None:
        self.calls.append(("nack", tag, requeue))


def test_plain_example_acks_only_after_processing_and_dead_letters_the_invalid() -> None:
    from types import SimpleNamespace

    from examples.plain_subscriber import Subscriber

    schema = json.loads((ROOT / "docs" / "events" / "team.member_joined.v1.json").read_text())
    example = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE_PREFIX + "registry",
        "type": TYPE_PREFIX + "team.member_joined",
        "time": "2026-11-29T09:00:00Z",
        "datacontenttype": "application/json",
        "dataschema": schema["$id"],
        "dataversion": 1,
        "data": schema["examples"][0],
    }
    first_envelope = {"id": example["id"], "type": "team.member_joined", "version": 1, "data": example["data"]}
    processed: list[str] = []

    def process(event: dict[str, Any]) -> None:
        if event["data"]["role"] == "lead":
            raise RuntimeError("downstream unavailable")
        processed.append(event["id"])

    subscriber = Subscriber("amqp://unused", "q", [], process)
    channel = FakeChannel()
    deliveries = [
        (b"{not json", ("nack", 1, False)),
        (json.dumps(first_envelope).encode(), ("nack", 2, False)),  # not a CloudEvent
        (
            json.dumps(
                {**example, "dataversion": 99, "dataschema": "urn:yilin:schema:team.member_joined:v99"}
            ).encode(),
            ("ack", 3, None),
        ),  # a version it does not know: skipped
        (json.dumps({**example, "data": {**example["data"], "role": "boss"}}).encode(), ("nack", 4, False)),
        (
            json.dumps({**example, "id": str(uuid.uuid4()), "data": {**example["data"], "role": "lead"}}).encode(),
            ("nack", 5, True),
        ),  # processing failed: requeued
        (json.dumps(example).encode(), ("ack", 6, None)),
        (json.dumps(example).encode(), ("ack", 7, None)),  # a duplicate: acked, not reprocessed
    ]
    for tag, (body, _) in enumerate(deliveries, start=1):
        subscriber.on_message(channel, SimpleNamespace(delivery_tag=tag), None, body)
    assert channel.calls == [outcome for _, outcome in deliveries]
    assert processed == [example["id"]]
