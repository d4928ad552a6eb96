"""A write RPC applies once however often it is delivered (yilin.writes): a real registry
process dies right after committing a write, before its reply; the broker redelivers the
request to the next process, which answers with the first answer instead of applying it
again, and the same write key later gets that answer too."""

from __future__ import annotations

from typing import Any

from nameko.standalone.rpc import ServiceRpcProxy

from tests.harness import ServiceProcess, migrate_service
from yilin.config import database_url as resolve_url
from yilin.db import engine_for
from yilin.identity import IDENTITY_KEY, Identity, identity_context
from yilin.writes import WRITE_KEY

OPERATOR = Identity(subject="test-operator", role="operator")
PLACE = {"code": "WK", "name": "写一次街道", "level": "district", "parent_id": None}


def _count(engine: Any, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar())


def test_a_write_redelivered_after_commit_applies_once(amqp_uri: str, pg_url: str, make_config: Any) -> None:
    config = make_config(pg_url)
    migrate_service("registry", config)
    engine = engine_for(resolve_url(config, "registry", environ={}), "registry")
    context = {**identity_context(config, OPERATOR, "gateway"), WRITE_KEY: "key-redelivered-1"}
    doomed = ServiceProcess("registry", amqp_uri, pg_url, YILIN_FAULTS="rpc.after_commit").wait_ready()
    with ServiceRpcProxy("registry", config, context_data=context, timeout=60) as registry:
        reply = registry.create_place.call_async(PLACE)
        assert doomed.process.wait(20) == 137  # died between its commit and its reply
        assert _count(engine, "SELECT count(*) FROM places WHERE code = 'WK'") == 1
        assert _count(engine, "SELECT count(*) FROM rpc_requests") == 1

        survivor = ServiceProcess("registry", amqp_uri, pg_url).wait_ready()
        try:
            first = reply.result()  # the redelivered request, answered by the survivor
            assert first["code"] == "WK" and first["id"]
            assert _count(engine, "SELECT count(*) FROM places WHERE code = 'WK'") == 1

            again = registry.create_place(PLACE)  # the same key once more: the first answer
            assert again == first
            assert _count(engine, "SELECT count(*) FROM places WHERE code = 'WK'") == 1
            assert _count(engine, "SELECT count(*) FROM rpc_requests") == 1
            with engine.connect() as conn:
                key, method = conn.exec_driver_sql("SELECT key, method FROM rpc_requests").one()
            assert (key, method) == ("key-redelivered-1", "registry.create_place")
        finally:
            assert survivor.terminate() == 0


def test_concurrent_deliveries_of_one_key_apply_once(stack: Any) -> None:
    """Two deliveries of the same write at the same moment (a retry racing its first
    attempt): one applies, the other waits on its claim and returns its answer."""
    s = stack("registry")
    context = {**identity_context(s.config, OPERATOR, "gateway"), WRITE_KEY: "key-raced-1"}
    import eventlet

    def call() -> Any:
        with ServiceRpcProxy("registry", s.config, context_data=context, timeout=30) as registry:
            return registry.create_place(PLACE)

    pool = eventlet.GreenPool(4)
    answers = list(pool.imap(lambda _: call(), range(4)))
    assert all(a == answers[0] for a in answers) and answers[0]["code"] == "WK"
    engine = engine_for(resolve_url(s.config, "registry", environ={}), "registry")
    assert _count(engine, "SELECT count(*) FROM places WHERE code = 'WK'") == 1
    assert _count(engine, "SELECT count(*) FROM rpc_requests") == 1


def test_a_write_without_a_key_or_with_another_key_is_a_new_write(stack: Any) -> None:
    s = stack("registry")
    signed = identity_context(s.config, OPERATOR, "gateway")
    with ServiceRpcProxy("registry", s.config, context_data={**signed, WRITE_KEY: "key-a"}) as registry:
        first = registry.create_place(PLACE)
    with ServiceRpcProxy("registry", s.config, context_data={**signed, WRITE_KEY: "key-b"}) as registry:
        second = registry.create_place({**PLACE, "code": "WK2"})
    with ServiceRpcProxy("registry", s.config, context_data={IDENTITY_KEY: signed[IDENTITY_KEY]}) as registry:
        third = registry.create_place({**PLACE, "code": "WK3"})
    assert len({first["id"], second["id"], third["id"]}) == 3
    engine = engine_for(resolve_url(s.config, "registry", environ={}), "registry")
    assert _count(engine, "SELECT count(*) FROM rpc_requests") == 2  # no key, nothing kept
