"""Fixtures for the whole suite. Everything runs against the real RabbitMQ and
PostgreSQL on localhost (and SQLite files); a missing broker or database fails the run.

Each test session gets its own RabbitMQ virtual host and its own PostgreSQL database,
so concurrent runs on one machine never see each other's messages or rows."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

# recursion counter when a module is compiled while eventlet switches greenlets
import eventlet
import hypothesis  # noqa: F401 - imported before patching: CPython 3.11.7 can corrupt its AST

eventlet.monkey_patch()  # nameko's pytest plugin no longer does it

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import psycopg2
import pytest
import requests
from kombu import Connection

from tests.harness import EventTap, ServiceProcess, free_port

RABBIT_HOST = os.environ.get("YILIN_TEST_RABBIT", "127.0.0.1:5672")
PG_ADMIN_URL = os.environ.get("YILIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "test-secret-" + "x" * 32


def _rabbitmqctl(*args: str) -> None:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_uri() -> Iterator[str]:
    """A fresh virtual host on the real broker for this test session."""
    vhost = f"yilin-test-{uuid.uuid4().hex[:8]}"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"RabbitMQ is required (rabbitmqctl failed: {exc}); start it with `rabbitmq-server -detached`")
    uri = f"pyamqp://guest:guest@{RABBIT_HOST}/{vhost}"
    with Connection(uri, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=3)
    yield uri
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; services keep their tables
    in schemas named after them inside it."""
    name = f"yilin_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL}: {exc}")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    for db in [*_test_databases, name]:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database per test, on each backend: SQLite files, or a new PostgreSQL
    database cloned for the test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/{{service}}.db"
    base = request.getfixturevalue("pg_database")
    return _fresh_pg_database(base)


_test_databases: list[str] = []


def _fresh_pg_database(session_db: str) -> str:
    name = f"{session_db.rsplit('/', 1)[1]}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    _test_databases.append(name)
    return f"{session_db.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(autouse=True)
def _release_engines() -> Iterator[None]:
    """Dispose of the engines a test created, so per-test databases can be dropped and
    connections do not pile up."""
    yield
    from yilin.db import _engines

    for key in list(_engines):
        _engines.pop(key).dispose()


@pytest.fixture(autouse=True)
def _stop_leftover_processes() -> Iterator[None]:
    """Kill service processes a test left running (a failed assertion before its own
    clean-up): they would consume the next test's events from the session's queues."""
    yield
    while ServiceProcess.started:
        ServiceProcess.started.pop().kill()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A fresh PostgreSQL database for one test (for multi-process tests)."""
    return _fresh_pg_database(pg_database)


@pytest.fixture
def make_config(amqp_uri: str) -> Callable[..., dict[str, Any]]:
    """nameko config for in-process containers against the test broker."""

    def make(database: str, **extra: Any) -> dict[str, Any]:
        config = {
            "AMQP_URI": amqp_uri,
            "DATABASE_URL": database,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
            "METRICS_PORTS": {},  # an explicit empty table: no metrics servers, the default ports may be taken
            "max_workers": 10,
            "GATEWAY_MAX_WORKERS": 100,  # as deploy/config.yml
            "serializer": "json",
            "JWT_SECRET": TEST_JWT_SECRET,
            "PII_KEY": "test-pii-key",
            "CERTIFICATE_KEY": "test-certificate-key",
            "ENVIRONMENT": "development",  # the suite's own short keys; production refuses them
            "OUTBOX_SWEEP_INTERVAL": 0.3,
            "OUTBOX_SWEEP_GRACE": 0.5,
        }
        config.update(extra)
        return config

    return make


@pytest.fixture
def stack(make_config: Callable[..., dict[str, Any]], container_factory: Any, database_url: str) -> Callable[..., Any]:
    """Start services in-process: ``stack("registry", "gateway")`` migrates each service's
    database, declares the topology and returns a :class:`tests.harness.Stack`."""
    from tests.harness import Stack

    def start(*names: str, database: str | None = None, **extra: Any) -> Stack:
        config = make_config(database or database_url, **extra)
        return Stack.start(names, config, container_factory)

    return start


@pytest.fixture
def tap(amqp_uri: str) -> Iterator[Callable[..., EventTap]]:
    """``tap("registry")``: a plain AMQP consumer bound with ``#`` to service exchanges."""
    taps: list[EventTap] = []

    def make(*sources: str) -> EventTap:
        t = EventTap(amqp_uri, sources)
        taps.append(t)
        return t

    yield make
    for t in taps:
        t.close()


@pytest.fixture
def http() -> requests.Session:
    """An HTTP session authenticated as an operator (a bearer token signed with the
    test configuration's ``JWT_SECRET``)."""
    from services.roles import PERSON_ROLES
    from yilin.tokens import issue_token

    session = requests.Session()
    token = issue_token({"JWT_SECRET": TEST_JWT_SECRET}, "operator", subject="test-operator", roles=PERSON_ROLES)
    session.headers["Authorization"] = f"Bearer {token}"
    return session
