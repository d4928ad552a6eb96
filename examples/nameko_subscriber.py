"""A Yilin event subscriber written as a nameko service, with nameko's own
``event_handler``.

nameko subscribes by service name and event type: ``@event_handler("registry",
"volunteer.registered")`` binds a queue to the exchange ``registry.events`` with that
routing key (one queue per handler, shared by every replica of this service). Each
event is a CloudEvent 1.0 in structured content mode (``application/cloudevents+json``),
checked against the published JSON Schemas (docs/events/: the CloudEvent, and its
``data`` against the schema its ``dataschema`` names) before processing.

Run it (see docs/subscribing.md); the config file lets nameko decode the CloudEvents
content type::

    pip install nameko jsonschema rfc3339-validator
    AMQP_URI=amqp://guest:guest@localhost:5672/ \
        nameko run --config examples/nameko_subscriber.yaml examples.nameko_subscriber:ExampleSubscriber

nameko's handlers ack once the handler returns, and with ``requeue_on_error=False`` (its
default) a failing event is logged and dropped; pass ``requeue_on_error=True`` to retry
instead, or use the plain AMQP example for a dead-letter queue of your own.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

from jsonschema import Draft7Validator, FormatChecker
from nameko.events import event_handler

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"

log = logging.getLogger("example_subscriber")


def load_validators(folder: Path = SCHEMAS) -> dict[str, Draft7Validator]:
    """One validator per ``data`` schema, by its ``$id`` (what an event's ``dataschema`` names)."""
    validators = {}
    for path in sorted(folder.glob("*.v*.json")):
        schema = json.loads(path.read_text())
        validators[schema["$id"]] = Draft7Validator(schema, format_checker=FormatChecker())
    return validators


VALIDATORS = load_validators()
CLOUDEVENT = Draft7Validator(json.loads((SCHEMAS / "cloudevent.json").read_text()), format_checker=FormatChecker())


class ExampleSubscriber:
    """Keeps a dashboard's view of volunteers and team membership current."""

    name = "example_subscriber"
    sink: Callable[[dict[str, Any]], None] | None = None  # where processed events go (tests set it)

    @event_handler("registry", "volunteer.registered")
    def on_volunteer_registered(self, event: dict[str, Any]) -> None:
        self.receive(event)

    @event_handler("registry", "volunteer.deactivated")
    def on_volunteer_deactivated(self, event: dict[str, Any]) -> None:
        self.receive(event)

    @event_handler("registry", "team.member_joined")
    def on_team_member_joined(self, event: dict[str, Any]) -> None:
        self.receive(event)

    def receive(self, event: dict[str, Any]) -> None:
        validator = VALIDATORS.get(event.get("dataschema"))
        if validator is None:
            # A version this subscriber was not written for: ignore it.
            log.info("skipping %s (%s): no schema for it here", event.get("type"), event.get("dataschema"))
            return
        errors = [e.message for e in CLOUDEVENT.iter_errors(event)]
        errors += [e.message for e in validator.iter_errors(event.get("data"))]
        if errors:
            raise ValueError(f"invalid {event.get('type')} event {event.get('id')}: {'; '.join(errors)}")
        self.process(event)

    def process(self, event: dict[str, Any]) -> None:
        log.info("%s v%s: %s", event["type"], event["dataversion"], json.dumps(event["data"], sort_keys=True))
        if self.sink is not None:
            self.sink(event)


def subscribe_to(
    events: dict[str, list[str]], sink: Callable[[dict[str, Any]], None] | None = None, base: type = ExampleSubscriber
) -> type:
    """``base`` extended with a handler for each ``{source: [event type, ...]}`` it does
    not handle yet — the same ``event_handler``, applied in a loop."""
    handled = {
        (e.source_service, e.event_type)
        for name in dir(base)
        for e in getattr(getattr(base, name, None), "nameko_entrypoints", ())
    }
    attrs: dict[str, Any] = {"sink": staticmethod(sink) if sink else None}
    for source, types in events.items():
        for event_type in types:
            if (source, event_type) in handled:
                continue

            def handle(self: Any, event: dict[str, Any]) -> None:
                self.receive(event)

            attrs[f"on_{source}_{event_type.replace('.', '_')}"] = event_handler(source, event_type)(handle)
    return type(base.__name__, (base,), attrs)
