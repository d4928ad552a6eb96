"""The work the fault suite drives and the checker that classifies every unit of it.

A unit is one ticket: ``ticket.resolved`` with two volunteers' minutes, then
``ticket.confirmed``, published to ``tickets.events`` exactly as the tickets service's
outbox relay does (persistent, publisher confirms, message id = event id). After the
faults, the consumer's ledger is read back and each unit is classified, Jepsen-style,
as lost (missing or partial), duplicated (counted more than once) or delivered once."""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import eventlet
from kombu import Connection, Producer

from yilin.events import Envelope, routing_key, serializer
from yilin.outbox import event_exchange

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    """One ticket's worth of volunteer time."""

    ticket_id: str
    community_id: str
    team_id: str
    minutes: tuple[tuple[str, int], ...]  # (volunteer_id, minutes)

    def envelopes(self, resolved_at: datetime) -> list[dict[str, Any]]:
        resolved = envelope(
            "ticket.resolved",
            {
                "ticket_id": self.ticket_id,
                "community_id": self.community_id,
                "category_code": "repair.drain",
                "team_id": self.team_id,
                "resolved_at": resolved_at.isoformat().replace("+00:00", "Z"),
                "volunteers": [{"volunteer_id": v, "minutes": m} for v, m in self.minutes],
            },
        )
        confirmed = envelope(
            "ticket.confirmed",
            {
                "ticket_id": self.ticket_id,
                "community_id": self.community_id,
                "category_code": "repair.drain",
                "rating": 5,
                "automatic": False,
            },
        )
        return [resolved, confirmed]


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A tickets event as its relay publishes it: a CloudEvent (``data`` not validated)."""
    return Envelope(
        str(uuid.uuid4()), event_type, 1, "tickets", datetime.now(timezone.utc), str(uuid.uuid4()), data
    ).to_message()


def first_envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A tickets event in the first envelope, as publishers wrote it before CloudEvents."""
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "source": "tickets",
        "occurred_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "correlation_id": str(uuid.uuid4()),
        "data": data,
    }


def make_units(count: int, seed: int = 7) -> list[Unit]:
    """``count`` tickets over a pool of volunteers, each served by two of them. A fixed
    seed keeps the figures reproducible; ids are fresh, so runs never collide."""
    rng = random.Random(seed)
    community, team = str(uuid.uuid4()), str(uuid.uuid4())
    # Enough volunteers that nobody comes near the 24-hour day limit of the ledger.
    pool = [str(uuid.uuid4()) for _ in range(max(50, count // 2))]
    units = []
    for _ in range(count):
        first, second = rng.sample(pool, 2)
        units.append(
            Unit(
                str(uuid.uuid4()), community, team, ((first, rng.randint(1, 12) * 5), (second, rng.randint(1, 12) * 5))
            )
        )
    return units


class StreamPublisher:
    """Publishes envelopes with confirms, reconnecting through broker outages. A publish
    whose confirm never came is sent again, as a real outbox relay does: duplicates on
    the wire are normal and the consumers must absorb them."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self.published = 0
        self.republished = 0
        self.done = False
        self._conn: Connection | None = None
        self._producer: Producer | None = None
        self._thread: Any = None

    def _connect(self) -> Producer:
        if self._producer is None:
            self._conn = Connection(self.amqp_uri, connect_timeout=3, transport_options={"confirm_publish": True})
            self._conn.ensure_connection(max_retries=max(1, len(self._conn.alt)))  # each broker of a failover URI
            self._producer = Producer(self._conn.channel())
        return self._producer

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # noqa: BLE001 - already broken
                pass
        self._conn = self._producer = None

    def publish(self, body: dict[str, Any], deadline: float = 120.0) -> None:
        exchange = event_exchange("tickets")
        give_up = time.monotonic() + deadline
        attempt = 0
        while True:
            try:
                self._connect().publish(
                    body,
                    exchange=exchange,
                    routing_key=routing_key(body),  # a CloudEvent's or a first envelope's
                    serializer=serializer(body),
                    delivery_mode=2,
                    message_id=body["id"],
                    declare=[exchange],
                )
                self.published += 1
                self.republished += 1 if attempt else 0
                return
            except Exception as exc:  # noqa: BLE001 - the broker is away; wait and send again
                self._drop()
                attempt += 1
                if time.monotonic() > give_up:
                    raise AssertionError(f"could not publish for {deadline}s: {exc}") from None
                eventlet.sleep(min(0.2 * attempt, 1.0))

    def start(self, envelopes: Iterable[dict[str, Any]], rate: float) -> "StreamPublisher":
        """Publish in the background at about ``rate`` messages a second."""
        self._thread = eventlet.spawn(self._run, list(envelopes), rate)
        return self

    def _run(self, envelopes: list[dict[str, Any]], rate: float) -> None:
        started = time.monotonic()
        try:
            for index, body in enumerate(envelopes):
                self.publish(body)
                ahead = index / rate - (time.monotonic() - started)
                if ahead > 0:
                    eventlet.sleep(ahead)
                elif index % 50 == 0:
                    eventlet.sleep(0)
        finally:
            self.done = True
            self._drop()

    def wait(self, timeout: float = 300.0) -> None:
        with eventlet.Timeout(timeout):
            self._thread.wait()


def stream(units: list[Unit], lag: int) -> list[dict[str, Any]]:
    """Every unit's events; each confirmation follows its resolution by ``lag`` units.
    Each event type has its own queue, so only time orders a resolution before its
    confirmation; residents confirm hours or days later, and the suite keeps a few
    seconds between them (see docs/reliability.md)."""
    base = datetime(2026, 11, 29, 1, 0, tzinfo=timezone.utc)
    resolved, confirmed = [], []
    for index, unit in enumerate(units):
        r, c = unit.envelopes(base + timedelta(minutes=index))
        resolved.append(r)
        confirmed.append(c)
    out: list[dict[str, Any]] = []
    for index in range(len(units) + lag):
        if index < len(units):
            out.append(resolved[index])
        if index >= lag:
            out.append(confirmed[index - lag])
    return out


@dataclass
class Verdict:
    """How every unit of work ended up."""

    units: int
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    once: int = 0

    def line(self, name: str, **figures: Any) -> str:
        extra = " ".join(f"{k}={v}" for k, v in figures.items())
        return (
            f"{name}: units={self.units} once={self.once} lost={len(self.lost)} "
            f"duplicated={len(self.duplicated)} {extra}"
        ).rstrip()


def classify(
    units: list[Unit], recorded: dict[tuple[str, str], list[int]], verified: dict[tuple[str, str], int]
) -> Verdict:
    """``recorded[(ticket, volunteer)]``: minutes of each ledger entry for that pair;
    ``verified[(ticket, volunteer)]``: how many of them count as verified. A unit is once
    when each volunteer's time is there exactly once, with the right minutes, verified."""
    verdict = Verdict(len(units))
    for unit in units:
        counts = [
            (
                len(recorded.get((unit.ticket_id, v), [])),
                verified.get((unit.ticket_id, v), 0),
                recorded.get((unit.ticket_id, v), []),
                m,
            )
            for v, m in unit.minutes
        ]
        if any(n > 1 or ver > 1 for n, ver, _, _ in counts):
            verdict.duplicated.append(unit.ticket_id)
        elif all(n == 1 and ver == 1 and got == [m] for n, ver, got, m in counts):
            verdict.once += 1
        else:
            verdict.lost.append(unit.ticket_id)
    return verdict


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        eventlet.sleep(interval)
    return check()
