"""A rolling upgrade: queues still hold events in the first envelope (``{id, type,
version, source, occurred_at, correlation_id, data}``, ``application/json``) when the new
consumers start. A real service handler accepts such a message published raw on the
broker, applies it once however often it arrives, and reads the CloudEvent of the same
change too."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pika

from tests.harness import wait_until
from tests.hours.support import envelope, publish
from tests.hours.test_ticket_events import handled, seed_registry


def _first_envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "source": "tickets",
        "occurred_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "correlation_id": "legacy-correlation",
        "data": data,
    }


def _publish_raw(amqp_uri: str, exchange: str, body: dict[str, Any]) -> None:
    """As an old publisher did: JSON bytes, ``application/json``, routing key = type."""
    connection = pika.BlockingConnection(pika.URLParameters("amqp" + amqp_uri[len("pyamqp") :]))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange,
            body["type"],
            json.dumps(body).encode(),
            pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id=body["id"]),
            mandatory=True,
        )
    finally:
        connection.close()


def test_a_handler_applies_a_first_envelope_message_once(stack: Any, tap: Any, amqp_uri: str) -> None:
    s = stack("hours")
    events = tap("hours")
    with s.rpc("hours") as rpc:
        w = seed_registry(amqp_uri, rpc)  # CloudEvents, as the registry now publishes
        ticket_id = str(uuid.uuid4())
        old = _first_envelope(
            "ticket.resolved",
            {
                "ticket_id": ticket_id,
                "community_id": w["community"],
                "category_code": "drain_blocked",
                "team_id": w["team"],
                "resolved_at": "2026-11-03T03:00:00Z",
                "volunteers": [{"volunteer_id": w["v1"], "minutes": 90}],
            },
        )
        skipped = handled("ticket.resolved", "duplicate_skipped")
        _publish_raw(amqp_uri, "tickets.events", old)
        _publish_raw(amqp_uri, "tickets.events", old)  # redelivered: applied once
        [recorded] = events.wait_for("hours.recorded")
        assert recorded["data"]["volunteer_id"] == w["v1"] and recorded["data"]["minutes"] == 90
        # the handler ran in the old event's correlation, carried into what it published
        assert recorded["correlationid"] == "legacy-correlation"
        wait_until(lambda: handled("ticket.resolved", "duplicate_skipped") - skipped >= 1, what="duplicate skipped")
        assert rpc.volunteer_total(w["v1"])["pending_minutes"] == 90

        # The same service goes on reading CloudEvents: confirming the ticket verifies the time.
        confirmed = envelope(
            "tickets",
            "ticket.confirmed",
            {
                "ticket_id": ticket_id,
                "community_id": w["community"],
                "category_code": "drain_blocked",
                "rating": 5,
                "automatic": False,
            },
        )
        assert confirmed["specversion"] == "1.0"
        publish(amqp_uri, confirmed)
        events.wait_for("hours.verified")
        total = rpc.volunteer_total(w["v1"])
        assert (total["verified_minutes"], total["pending_minutes"]) == (90, 0)
        assert len({e["id"] for e in events.of_type("hours.recorded")}) == 1
