"""The failover form of ``YILIN_AMQP_URI`` (brokers separated by ``;``) on the single
shared broker, so ``make test`` covers it: with the first two brokers of the list down, the
outbox publisher and a real consumer process go to the next one and every unit of work
arrives once. The three-node cluster scenarios (test_cluster.py) run in ``make chaos``."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Exchange, Queue

from tests.faults.scenario import Scenario
from tests.faults.targets import PROBE
from tests.harness import free_port
from yilin.confirms import Outgoing, PipelinedPublisher

pytestmark = pytest.mark.slow


def _failover(amqp_uri: str) -> str:
    """``amqp_uri`` behind two broker addresses where nothing listens (two nodes of a
    three-node cluster down)."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    dead = [f"pyamqp://guest:guest@127.0.0.1:{free_port()}/{vhost}" for _ in range(2)]
    return ";".join([*dead, amqp_uri])


def test_publisher_confirms_through_the_next_broker(amqp_uri: str) -> None:
    exchange = Exchange(f"failover-{uuid.uuid4().hex[:6]}", type="topic", durable=True)
    queue = Queue(f"{exchange.name}-q", exchange, routing_key="#", durable=True)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    publisher = PipelinedPublisher(_failover(amqp_uri))
    try:
        sent = [{"n": n} for n in range(5)]
        assert publisher.publish([Outgoing(exchange, "x.y", body, str(uuid.uuid4())) for body in sent]) == 5
    finally:
        publisher.close()
    with Connection(amqp_uri) as conn:
        bound = queue(conn.default_channel)
        got = [bound.get(no_ack=True) for _ in range(5)]
        assert sorted(m.payload["n"] for m in got if m is not None) == [0, 1, 2, 3, 4]
        bound.delete()


def test_consumer_process_reaches_the_next_broker(amqp_uri: str, pg_url: str) -> None:
    uri = _failover(amqp_uri)
    scenario = Scenario(PROBE, uri, pg_url, events=40, seconds=2)
    scenario.start()
    scenario.publish()
    try:
        assert scenario.settle(timeout=60), scenario.logs()
    finally:
        scenario.stop_all()
    verdict = scenario.verdict()
    assert (verdict.once, verdict.lost, verdict.duplicated) == (verdict.units, [], [])
