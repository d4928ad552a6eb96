"""The fault suite: real service processes against the real broker and database, a
stream of work, one kind of fault per test, and every unit of work accounted for.

Each test adds a line to the chaos report (tests/faults/conftest.py). ``redelivered``
counts deliveries the broker had to repeat because of the fault: handler transactions
the fault rolled back (their inbox rows were inserted but never committed, read from
PostgreSQL's table statistics) plus redeliveries the inbox skipped as duplicates (read
from each process's /metrics before it went away). ``broker_repeated`` counts every
delivery the broker marked as redelivered (``yilin_events_redelivered_total``), begun or
not."""

from __future__ import annotations

import os
import random
import time
from typing import Any

import psycopg2
import pytest

from tests.faults.conftest import ChaosReport, broker_running, ensure_broker_started, rabbitmqctl
from tests.faults.proxy import TcpProxy
from tests.faults.scenario import Scenario, handled, held
from tests.faults.stream import Verdict, envelope, wait_for
from tests.faults.targets import HOURS, PROBE, Target

pytestmark = pytest.mark.slow

# 20 in `make chaos`; fewer by default so the whole suite stays within `make test`'s time.
KILLS = int(os.environ.get("YILIN_CHAOS_KILLS", "8"))
SLOW = "0.01"  # seconds each handler holds its transaction open after each event
RESTARTS = 4  # rolling restarts, each while the replica holds deliveries


def record(report: ChaosReport, name: str, scenario: Scenario, faults: int, **figures: Any) -> tuple[Verdict, int]:
    verdict = scenario.verdict()
    redelivered = scenario.redelivered()
    line = verdict.line(name, events=len(scenario.envelopes), faults=faults, redelivered=redelivered, **figures)
    print(line)
    report.add(
        line,
        faults=faults,
        events=len(scenario.envelopes),
        redelivered=redelivered,
        lost=len(verdict.lost),
        duplicated=len(verdict.duplicated),
    )
    assert verdict.lost == [] and verdict.duplicated == [], (line, scenario.logs())
    return verdict, redelivered


@pytest.fixture
def target() -> Target:
    """The hours service: its ledger is what a volunteer's time must survive in."""
    return HOURS


def test_consumer_killed_with_sigkill_20_times(
    target: Target, amqp_uri: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """Two replicas, killed in turn at random moments while the stream flows."""
    scenario = Scenario(target, amqp_uri, pg_url, chaos_events, seconds=KILLS * 1.6)
    rng = random.Random(20)
    replicas = [scenario.start(YILIN_CHAOS_HANDLER_DELAY=SLOW), scenario.start(YILIN_CHAOS_HANDLER_DELAY=SLOW)]
    scenario.publish()
    kills = 0
    try:
        while kills < KILLS:
            index = kills % 2
            victim = replicas[index].wait_ready(60)
            time.sleep(rng.uniform(0.3, 1.5))
            scenario.scrape(victim)
            victim.kill()
            kills += 1
            replicas[index] = scenario.start(wait=False, YILIN_CHAOS_HANDLER_DELAY=SLOW)
        assert scenario.settle(), scenario.logs()
    finally:
        scenario.stop_all()
    # RabbitMQ 3.10 counts every delivery a dead consumer held towards the quorum
    # queue's delivery limit; that limit is sized for crashes and handler failures are
    # counted apart, so no healthy message is parked, and nothing is replayed here.
    parked = scenario.dead_lettered()
    repeated = int(scenario.broker_redelivered)
    record(chaos_report, "sigkill", scenario, kills, parked=parked, broker_repeated=repeated)
    # A batching consumer holds deliveries it has not begun (prefetched, gathering into a
    # batch): a kill returns them without any transaction to roll back, so the broker's
    # own mark is what shows the kills landed on consumers holding work.
    assert repeated > 0, "no delivery was repeated: the kills landed on idle consumers"
    assert parked == 0, "a crash parked a healthy message"


def test_broker_stopped_and_restarted(
    target: Target, amqp_uri: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """``rabbitmqctl stop_app`` for a few seconds mid-stream; consumers and the publisher
    reconnect by themselves."""
    scenario = Scenario(target, amqp_uri, pg_url, chaos_events, seconds=12)
    scenario.start(YILIN_CHAOS_HANDLER_DELAY=SLOW)
    scenario.publish()
    try:
        time.sleep(3)
        try:
            assert rabbitmqctl("stop_app").returncode == 0
            assert not broker_running()
            time.sleep(3)
        finally:
            rabbitmqctl("start_app", timeout=120)
            ensure_broker_started()
        assert scenario.settle(), scenario.logs()
        assert all(p.process.poll() is None for p in scenario.processes), "a consumer died with the broker"
    finally:
        scenario.stop_all()
    record(chaos_report, "broker-restart", scenario, 1)
    assert scenario.dead_lettered() == 0


@pytest.mark.parametrize("link", ["broker", "database"])
def test_network_cut(
    link: str, target: Target, amqp_uri: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """The TCP path between the service and RabbitMQ (or PostgreSQL) cut twice for
    several seconds; the service reconnects by itself once it is restored."""
    scenario = Scenario(target, amqp_uri, pg_url, chaos_events, seconds=14)
    if link == "broker":
        proxy = TcpProxy("127.0.0.1", int(amqp_uri.split("@")[1].split("/")[0].split(":")[1]))
        through = {"amqp_uri": amqp_uri.replace(amqp_uri.split("@")[1].split("/")[0], f"127.0.0.1:{proxy.port}")}
    else:
        proxy = TcpProxy("127.0.0.1", 5432)
        host = pg_url.split("@")[1].split("/")[0]
        through = {"database_url": pg_url.replace(f"@{host}/", f"@127.0.0.1:{proxy.port}/")}
    consumer = scenario.start(**through, YILIN_CHAOS_HANDLER_DELAY=SLOW)
    scenario.publish()
    cuts = 0
    try:
        for _ in range(2):
            time.sleep(2.5)
            assert proxy.active > 0
            proxy.cut()
            cuts += 1
            time.sleep(4)
            proxy.restore()
        assert scenario.settle(), scenario.logs()
        assert consumer.process.poll() is None, scenario.logs()
    finally:
        scenario.stop_all()
        proxy.close()
    record(chaos_report, f"network-cut-{link}", scenario, cuts)
    assert scenario.dead_lettered() == 0


@pytest.mark.parametrize("consumer", ["probe", "hours"])
def test_database_backends_terminated_mid_transaction(
    consumer: str, amqp_uri: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """PostgreSQL is shared with other engineers' runs, so instead of restarting the
    cluster this terminates every backend of the test database (``pg_terminate_backend``)
    while handlers hold transactions open between their writes: what a server restart
    does to a client. No transaction may leave part of its writes behind: the probe
    writes each volunteer's row separately and waits between them, so a partial commit
    would show as a unit with one row, then a duplicate after the redelivery."""
    target = PROBE if consumer == "probe" else HOURS
    scenario = Scenario(target, amqp_uri, pg_url, chaos_events, seconds=10)
    scenario.start(YILIN_CHAOS_HANDLER_DELAY="0.02")
    scenario.publish()
    database = pg_url.rsplit("/", 1)[1]
    terminated = 0
    admin = psycopg2.connect(pg_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    try:
        for _ in range(6):
            time.sleep(1.2)
            with admin.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND state = 'idle in transaction'",
                    (database,),
                )
                terminated += cursor.fetchone()[0]
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
                terminated += cursor.fetchone()[0]
        assert scenario.settle(), scenario.logs()
    finally:
        admin.close()
        scenario.stop_all()
    _, redelivered = record(chaos_report, f"pg-terminate-{consumer}", scenario, terminated)
    assert terminated > 0
    if consumer == "probe":
        assert redelivered > 0, "no transaction was cut short"
    assert scenario.dead_lettered() == 0


def test_poison_messages_are_dead_lettered(
    target: Target, amqp_uri: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """Malformed events among good ones: each is tried, retried up to the limit and then
    dead-lettered; none is acked away and none blocks the rest."""
    from yilin import deadletters

    scenario = Scenario(target, amqp_uri, pg_url, chaos_events, seconds=5)
    poison = [envelope("ticket.resolved", {"ticket_id": f"poison-{i}", "community_id": "x"}) for i in range(5)]
    step = max(1, len(scenario.envelopes) // (len(poison) + 1))
    for i, body in enumerate(poison):
        scenario.envelopes.insert((i + 1) * step, body)
    scenario.start()
    scenario.publish()
    try:
        expected = len(scenario.envelopes) - len(poison)

        def done() -> bool:
            _, committed = target.inbox_stats(pg_url)
            return committed >= expected and scenario.dead_lettered() == len(poison)

        scenario.publisher.wait(120)
        # a failed delivery goes back behind the queue, so parking one takes three passes of it
        assert wait_for(done, scenario.patience(120), interval=1.0), (
            target.inbox_stats(pg_url),
            scenario.dead_lettered(),
        )
    finally:
        scenario.stop_all()
    dead = deadletters.peek(amqp_uri, target.service)
    assert sorted(d["message_id"] for d in dead) == sorted(p["id"] for p in poison)
    _, committed = target.inbox_stats(pg_url)
    assert committed == len(scenario.envelopes) - len(poison)  # no poison claimed in the inbox
    scenario.envelopes = [e for e in scenario.envelopes if e not in poison]
    record(chaos_report, "poison", scenario, len(poison), dead_lettered=len(dead))
    assert deadletters.purge(amqp_uri, target.service) == len(poison)


def test_rolling_restart_with_sigterm(
    target: Target, amqp_uri: str, pg_url: str, chaos_events: int, chaos_report: ChaosReport
) -> None:
    """Two replicas under load; each in turn gets SIGTERM while it holds deliveries
    (prefetched or being handled), must finish and ack them, exit 0 within the grace
    period, and is replaced. Nothing may go back to the queue: on RabbitMQ 3.10 each
    returned delivery would spend one of the message's quorum delivery attempts."""
    # As a Deployment rolls: the replacement starts, then the old replica is stopped.
    # The stream flows through every restart (a replica takes seconds to start).
    scenario = Scenario(target, amqp_uri, pg_url, chaos_events, seconds=40 * RESTARTS)
    # A replica finishes what it holds (up to EVENT_PREFETCH per handler) before it
    # exits; on a loaded 2-core test machine that can take longer than the 25 s default.
    env = {"YILIN_CHAOS_HANDLER_DELAY": SLOW, "YILIN_SHUTDOWN_GRACE_SECONDS": "50"}
    replicas = [scenario.start(**env), scenario.start(**env)]
    scenario.publish()
    restarts, held_at_sigterm = 0, 0
    try:
        while restarts < RESTARTS:
            old = replicas[restarts % 2]
            replacement = scenario.start(wait=False, **env)
            holding = 0

            def holds(process: Any = old) -> bool:
                nonlocal holding
                holding = held(process)
                return holding > 0

            assert wait_for(holds, 60, interval=0.01), f"restart {restarts}: held nothing; {handled(old)}"
            held_at_sigterm += holding
            scenario.scrape(old)
            assert old.terminate(60) == 0, old.output()[-3000:]
            replicas[restarts % 2] = replacement.wait_ready(60)
            restarts += 1
        assert scenario.settle(), scenario.logs()
    finally:
        scenario.stop_all()
    inserted, committed = target.inbox_stats(pg_url)
    parked, repeated = scenario.dead_lettered(), int(scenario.broker_redelivered)
    record(
        chaos_report, "rolling-restart", scenario, restarts, held_at_sigterm=held_at_sigterm, broker_repeated=repeated
    )
    assert inserted == committed, "a graceful stop abandoned a transaction it had started"
    assert parked == 0
    assert repeated == 0, ("a stopping replica handed deliveries back to the broker", scenario.logs())
