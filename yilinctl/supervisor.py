"""``yilin run``: the whole platform on one machine, for a laptop or a demo."""

from __future__ import annotations

import errno
import gc
import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable

import click
import eventlet
import eventlet.debug
import requests
from kombu import Connection
from nameko.runners import ServiceRunner

from services import METRICS_PORTS, SERVICES
from services.demo import load_demo as load
from services.roles import PERSON_ROLES
from yilin.config import metrics_port
from yilin.subscriptions import shutdown_grace
from yilin.tokens import demo_tokens

# `yilin serve`'s exit code when the service could not start and has said why.
START_FAILED = 3
# A batch of events allocates thousands of short-lived objects, so the collector's
# young-generation pass (every 700 allocations by default) ran dozens of times per batch,
# each older pass walking the service's long-lived objects (modules, mappers, schemas):
# about a sixth of a handler's CPU. Started, those are frozen out of every later pass, and
# the passes run less often; cycles are still collected.
GC_THRESHOLDS = (20_000, 50, 100)

BROKER_HELP = """\
RabbitMQ is not answering at {uri}.
Start one, then run `make run` again:
  Debian/Ubuntu:  sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached
  macOS:          brew install rabbitmq && brew services start rabbitmq
  Docker:         docker run -d --name rabbitmq -p 5672:5672 rabbitmq:3-management
or point YILIN_AMQP_URI at a running broker."""


def broker_answers(uri: str) -> bool:
    """Whether RabbitMQ accepts a connection within a few seconds."""
    try:
        with Connection(uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
        return True
    except Exception:  # noqa: BLE001 - any failure means "no broker"
        return False


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def failure_reason(exc: BaseException) -> str:
    """``Type: message`` on one line; a KeyError's message without its repr quotes."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = " ".join(str(message).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def service_config(cls: type[Any], config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as ``cls`` runs with it: a service that names a ``max_workers_setting``
    (the gateway) takes its worker pool size from that setting when it is set."""
    setting = getattr(cls, "max_workers_setting", None)
    if setting and config.get(setting):
        return {**config, "max_workers": int(config[setting])}
    return config


def run_service(cls: type[Any], config: dict[str, Any]) -> None:
    """nameko's ``run`` for one service, with eventlet's hub quiet while the service
    starts: a failing ``setup`` would otherwise print its traceback once per greenthread
    before the caller can turn it into one line."""
    runner = ServiceRunner(service_config(cls, config))
    runner.add_service(cls)
    grace = shutdown_grace(config)
    killed = []

    def overdue() -> None:
        click.echo(f"{cls.name} did not stop within {grace:g} s; killing it", err=True)
        killed.append(True)
        runner.kill()

    def terminate(_signum: int, _frame: Any) -> None:
        # Handlers finish and ack what they hold within the grace period, then the
        # outbox flushes; past it the service is killed (what it held is redelivered).
        eventlet.spawn_n(runner.stop)
        eventlet.spawn_after(grace, overdue)

    signal.signal(signal.SIGTERM, terminate)
    eventlet.debug.hub_exceptions(False)
    try:
        runner.start()
    finally:
        eventlet.debug.hub_exceptions(True)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    waiting = eventlet.spawn(runner.wait)  # a greenthread: SIGTERM's EINTR stays out of it
    while True:
        try:
            waiting.wait()
            if killed:  # what it held goes back to the broker: not a clean stop
                sys.exit(1)
            return
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise
        except KeyboardInterrupt:
            runner.stop()


def run_stack(config: dict[str, Any], migrate: Callable[[], None], load_demo: bool = True) -> int:
    """Run ``migrate``, start every service, wait until healthy, load the demo, wait for a signal."""

    uri = config["AMQP_URI"]
    if not broker_answers(uri):
        click.echo(BROKER_HELP.format(uri=uri), err=True)
        return 1
    try:
        migrate()
    except Exception as exc:  # noqa: BLE001 - one readable line instead of a traceback
        click.echo(f"migrate failed: {failure_reason(exc)}", err=True)
        return 1

    env = dict(os.environ)
    env.setdefault("YILIN_LOG_FORMAT", "text")
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name in SERVICES:
            # A session of its own: Ctrl-C reaches only this supervisor, which then
            # stops each child with SIGTERM so in-flight work finishes.
            children[name] = subprocess.Popen(
                [sys.executable, "-m", "yilinctl.cli", "serve", name], env=env, start_new_session=True
            )
        deadline = time.monotonic() + 90
        waiting = set(children)
        while waiting and not stopping:
            for name in list(waiting):
                code = children[name].poll()
                if code is not None:
                    if code != START_FAILED:  # START_FAILED: the service printed its reason
                        click.echo(f"{name} failed to start: exit code {code}", err=True)
                    return 1
                if _ready(metrics_port(config, name, METRICS_PORTS[name])):
                    waiting.discard(name)
            if time.monotonic() > deadline:
                click.echo(f"not ready after 90 s: {', '.join(sorted(waiting))}", err=True)
                return 1
            time.sleep(0.3)
        gateway = "http://127.0.0.1:" + str(config.get("WEB_SERVER_ADDRESS", "0.0.0.0:8000")).rsplit(":", 1)[1]
        if load_demo and not stopping:
            summary = load(gateway)
            click.echo("demo district: " + ("loaded" if summary.get("loaded") else "already present"))
            if summary.get("certificate_id"):
                click.echo(
                    f"  a volunteer's certificate (PDF, with a token): "
                    f"{gateway}/api/v1/hours/certificates/{summary['certificate_id']}/pdf"
                )
        _print_urls(config, gateway)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    click.echo(f"{name} stopped unexpectedly (exit {child.returncode}); stopping the rest", err=True)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop_children(children)


def _print_urls(config: dict[str, Any], gateway: str) -> None:
    click.echo("\nYilin is running.")
    click.echo(f"  API:      {gateway}/api/v1/")
    click.echo(f"  OpenAPI:  {gateway}/openapi.json")
    click.echo(f"  Health:   {gateway}/health")
    for name in SERVICES:
        click.echo(
            f"  metrics:  http://127.0.0.1:{metrics_port(config, name, METRICS_PORTS[name]) or METRICS_PORTS[name]}/metrics  ({name})"
        )
    click.echo("\nDemo tokens (send as `Authorization: Bearer <token>`):")
    for role, token in demo_tokens(config, PERSON_ROLES).items():
        click.echo(f"  {role:15} {token}")
    click.echo("\nPress Ctrl-C to stop.")


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    if any(child.poll() is None for child in children.values()):
        click.echo("stopping: letting in-flight work finish…")
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for name, child in children.items():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"{name} did not stop in time; killing it", err=True)
            child.kill()
            child.wait()
