"""``yilin``: the operators' command-line tool."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything opens a socket: psycopg2 and kombu become cooperative

import importlib  # noqa: E402
import json  # noqa: E402
import logging.config  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from yilin.config import load_config  # noqa: E402

# `yilin serve`'s exit code when the service could not start and has said why.
START_FAILED = 3


def service_class(name: str) -> type:
    """The nameko class of service ``name``, or of ``package.module:Class`` (a service
    outside the platform, such as the fault suite's probe consumer)."""
    from services import SERVICES

    if ":" in name and name not in SERVICES:
        module, _, attr = name.partition(":")
        return getattr(importlib.import_module(module), attr)
    if name not in SERVICES:
        raise click.BadParameter(f"unknown service {name!r}; one of: {', '.join(SERVICES)}")
    module, _, attr = SERVICES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def migrations_dir(name: str) -> Path | None:
    """The Alembic folder of a service, if it has a database."""
    module = importlib.import_module(f"services.{name}")
    folder = Path(module.__file__).parent / "migrations"
    return folder if folder.is_dir() else None


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="nameko config file (default: deploy/config.yml).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Operate Yilin: migrate, run services, load data, inspect queues."""
    ctx.obj = load_config(config_path)


@main.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def migrate(config: dict[str, Any], services: tuple[str, ...]) -> None:
    """Migrate each service's database and declare the broker topology."""
    from services import SERVICES
    from yilin import migrations, topology
    from yilin.config import database_url

    names = services or tuple(SERVICES)
    for name in names:
        folder = migrations_dir(name)
        if folder is not None:
            migrations.upgrade(name, database_url(config, name), folder)
            click.echo(f"migrated {name}")
    queues = topology.declare(config["AMQP_URI"], [service_class(n) for n in SERVICES])
    click.echo(f"declared broker topology: {len(queues)} queues")


@main.command()
@click.argument("service")
@click.pass_obj
def serve(config: dict[str, Any], service: str) -> None:
    """Run one service in the foreground until SIGTERM. A service that cannot start says
    why in one line (exit code ``START_FAILED``); the traceback goes to the debug log."""
    from yilin.environment import check_extensions
    from yilin.supervisor import run_service

    if "LOGGING" in config:
        logging.config.dictConfig(config["LOGGING"])
    try:
        check_extensions(service_class(service), config)  # a bad secret stops it before anything starts
        run_service(service_class(service), config)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
        logging.getLogger("yilin.serve").debug("%s failed", service, exc_info=True)
        click.echo(f"{service} failed to start: {failure_reason(exc)}", err=True)
        sys.exit(START_FAILED)


def failure_reason(exc: BaseException) -> str:
    """``Type: message`` on one line; a KeyError's message without its repr quotes."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = " ".join(str(message).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@main.command(name="run")
@click.option("--no-demo", is_flag=True, help="Do not load the demo district.")
@click.pass_obj
def run_all(config: dict[str, Any], no_demo: bool) -> None:
    """Migrate, start every service, load the demo district if empty, print the URLs."""
    from yilin.supervisor import run_stack

    # A laptop run: development mode, said explicitly (the default everywhere else is production).
    os.environ["YILIN_ENV"] = "development"
    config["ENVIRONMENT"] = "development"
    sys.exit(run_stack(config, load_demo=not no_demo))


@main.command()
@click.option("--gateway", default="http://127.0.0.1:8000", show_default=True)
def demo(gateway: str) -> None:
    """Load the demo district through the public API (skipped if data exists)."""
    from services.demo import load_demo

    click.echo(json.dumps(load_demo(gateway), indent=2))


@main.command(name="import")
@click.argument("kind", type=click.Choice(["volunteers"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--batch", default=1000, show_default=True)
@click.option("--in-flight", default=2, show_default=True, type=click.IntRange(min=1),  # importing.IN_FLIGHT
              help="Batches sent before waiting for the first reply.")
@click.pass_obj
def import_(config: dict[str, Any], kind: str, path: str, batch: int, in_flight: int) -> None:
    """Import volunteers from CSV or JSON lines, with a progress bar."""
    from yilin.importing import import_file

    summary = import_file(config, path, batch, in_flight=in_flight)
    click.echo(json.dumps(summary))
    if summary["rejected"]:
        sys.exit(1)


@main.group()
def dlq() -> None:
    """Inspect, replay and purge dead-lettered messages."""


@dlq.command(name="list")
@click.option("--service", required=True)
@click.pass_obj
def dlq_list(config: dict[str, Any], service: str) -> None:
    """One line per dead-lettered message."""
    from yilin import deadletters

    for item in deadletters.peek(config["AMQP_URI"], service):
        click.echo(json.dumps(item, default=str))


@dlq.command(name="replay")
@click.option("--service", required=True)
@click.pass_obj
def dlq_replay(config: dict[str, Any], service: str) -> None:
    """Send every dead-lettered message back to the queue it died in."""
    from yilin import deadletters

    click.echo(f"replayed {deadletters.replay(config['AMQP_URI'], service)}")


@dlq.command(name="purge")
@click.option("--service", required=True)
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
def dlq_purge(config: dict[str, Any], service: str, yes: bool) -> None:
    """Drop every dead-lettered message of a service."""
    from yilin import deadletters

    if not yes:
        click.confirm(f"drop every message in {service}.dlq?", abort=True)
    click.echo(f"purged {deadletters.purge(config['AMQP_URI'], service)}")


@dlq.command(name="inspect")
@click.option("--service", required=True)
@click.argument("message_id")
@click.pass_obj
def dlq_inspect(config: dict[str, Any], service: str, message_id: str) -> None:
    """One dead-lettered message in full: properties, headers (with x-death) and body."""
    from yilin import deadletters

    item = deadletters.inspect(config["AMQP_URI"], service, message_id)
    if item is None:
        raise click.ClickException(f"no message {message_id} in {service}.dlq")
    click.echo(json.dumps(item, indent=2, default=str, ensure_ascii=False))


@main.command(name="replay")
@click.option("--from", "source", required=True, help="The service whose outbox is the event log.")
@click.option("--to", "target", required=True, help="The service whose handler queues receive the events.")
@click.option("--type", "types", multiple=True, help="Only these event types (repeatable).")
@click.pass_obj
def replay_events(config: dict[str, Any], source: str, target: str, types: tuple[str, ...]) -> None:
    """Republish every event SOURCE ever published to TARGET's queues (rebuild a consumer)."""
    from yilin.replay import replay

    if migrations_dir(source) is None:
        raise click.BadParameter(f"{source} keeps no event log", param_hint="--from")
    counts = replay(config, source, service_class(target), types)
    click.echo(json.dumps({"from": source, "to": target, "replayed": counts, "total": sum(counts.values())}))


@main.command()
@click.option("--role", required=True, help="One of the people's roles (yilin/identity.py ROLES).")
@click.option("--subject", default=None, help="The person's id (a volunteer's id for volunteers and team leads).")
@click.option("--organisation", default=None, help="Organisation id (org claim), e.g. for org_admin.")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 30 * 24 * 3600),
              help="Lifetime in seconds.")
@click.pass_obj
def token(config: dict[str, Any], role: str, subject: str | None, organisation: str | None, ttl: int) -> None:
    """Print a bearer token for local use (the last line of the output)."""
    from yilin.tokens import PERSON_ROLES, issue_token

    if role not in PERSON_ROLES:
        raise click.BadParameter(f"one of: {', '.join(PERSON_ROLES)}", param_hint="--role")
    value = issue_token(config, role, subject=subject, organisation_id=organisation, ttl=ttl)
    click.echo(f"# {role} token, valid {ttl} s; send it as: Authorization: Bearer <token>", err=True)
    click.echo(value)


@main.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def outbox(config: dict[str, Any], services: tuple[str, ...]) -> None:
    """Show each service's unsent events and the age of the oldest."""
    from services import SERVICES
    from sqlalchemy import MetaData

    from yilin.config import database_url
    from yilin.db import engine_for
    from yilin.outbox import backlog
    from yilin.tables import define_kit_tables

    metadata = MetaData()
    define_kit_tables(metadata)
    for name in services or tuple(SERVICES):
        if migrations_dir(name) is None:
            continue
        count, age = backlog(engine_for(database_url(config, name), name), metadata.tables["outbox"])
        click.echo(json.dumps({"service": name, "unsent": count, "oldest_age_seconds": round(age, 1)}))


if __name__ == "__main__":
    main()
