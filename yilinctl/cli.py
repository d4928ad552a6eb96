"""``yilin``: the operators' command-line tool (``python -m yilinctl.cli``)."""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet

eventlet.monkey_patch()  # before anything opens a socket: psycopg2 and kombu become cooperative

import importlib
import json
import logging.config
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import MetaData

from services import SERVICES
from services.demo import load_demo
from services.district_scale import DISTRICT, load_district
from services.registry.importing import IN_FLIGHT, import_file
from services.roles import PERSON_ROLES
from yilin import deadletters, migrations, topology
from yilin.config import database_url, load_config
from yilin.db import engine_for
from yilin.environment import check_extensions
from yilin.identity import env_name, new_private_key
from yilin.outbox import backlog
from yilin.replay import replay
from yilin.tables import define_kit_tables
from yilin.tokens import issue_token
from yilinctl import broker_users, pii_keys, retention
from yilinctl.supervisor import START_FAILED, failure_reason, run_service, run_stack


def service_class(name: str) -> type:
    """The nameko class of service ``name``, or of ``package.module:Class`` (a service
    outside the platform, such as the fault suite's probe consumer)."""

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
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="nameko config file (default: deploy/config.yml).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Operate Yilin: migrate, run services, load data, inspect queues."""
    ctx.obj = load_config(config_path)


@main.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def migrate(config: dict[str, Any], services: tuple[str, ...]) -> None:
    """Migrate each service's database and declare the broker topology."""

    names = services or tuple(SERVICES)
    for name in names:
        folder = migrations_dir(name)
        if folder is not None:
            migrations.upgrade(name, database_url(config, name), folder)
            click.echo(f"migrated {name}")
    try:
        queues = topology.declare(config["AMQP_URI"], [service_class(n) for n in SERVICES])
    except topology.QueueNotEmpty as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"declared broker topology: {len(queues)} queues")


@main.command()
@click.argument("service")
@click.pass_obj
def serve(config: dict[str, Any], service: str) -> None:
    """Run one service in the foreground until SIGTERM. A service that cannot start says
    why in one line (exit code ``START_FAILED``); the traceback goes to the debug log."""
    if "LOGGING" in config:
        logging.config.dictConfig(config["LOGGING"])
    try:
        check_extensions(service_class(service), config)  # a bad secret stops it before anything starts
        run_service(service_class(service), config)
    except Exception as exc:  # every failure becomes one readable line
        logging.getLogger("yilin.serve").debug("%s failed", service, exc_info=True)
        click.echo(f"{service} failed to start: {failure_reason(exc)}", err=True)
        sys.exit(START_FAILED)


@main.command(name="run")
@click.option("--no-demo", is_flag=True, help="Do not load the demo district.")
@click.pass_obj
def run_all(config: dict[str, Any], no_demo: bool) -> None:
    """Migrate, start every service, load the demo district if empty, print the URLs."""
    ctx = click.get_current_context()
    # A laptop run: development mode, said explicitly (the default everywhere else is production).
    os.environ["YILIN_ENV"] = "development"
    config["ENVIRONMENT"] = "development"
    sys.exit(run_stack(config, lambda: ctx.invoke(migrate, services=()), load_demo=not no_demo))


@main.command()
@click.option("--gateway", default="http://127.0.0.1:8000", show_default=True)
@click.option(
    "--scale",
    type=click.Choice(["demo", "district"]),
    default="demo",
    show_default=True,
    help="demo: Pidu's named places and actors over the API; district: the district's real scale "
    "through the registry's and the activities service's bulk RPCs (idempotent).",
)
@click.option(
    "--divide",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="With --scale district: divide every figure by this (a toy-size district).",
)
@click.pass_obj
def demo(config: dict[str, Any], gateway: str, scale: str, divide: int) -> None:
    """Load the demo district (skipped if data exists), or the district at its real scale."""
    if scale == "district":
        started = time.monotonic()
        summary = load_district(config, DISTRICT.divided(divide), echo=lambda line: click.echo(line, err=True))
        summary["seconds"] = round(time.monotonic() - started, 1)
        click.echo(json.dumps(summary, ensure_ascii=False))
        if not all(summary["matches"].values()):
            sys.exit(1)
        return
    click.echo(json.dumps(load_demo(gateway), indent=2))


@main.command(name="import")
@click.argument("kind", type=click.Choice(["volunteers"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--batch", default=1000, show_default=True)
@click.option(
    "--in-flight",
    default=IN_FLIGHT,
    show_default=True,
    type=click.IntRange(min=1),
    help="Batches sent before waiting for the first reply.",
)
@click.pass_obj
def import_(config: dict[str, Any], kind: str, path: str, batch: int, in_flight: int) -> None:
    """Import volunteers from CSV or JSON lines, with a progress bar."""
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
    for item in deadletters.peek(config["AMQP_URI"], service):
        click.echo(json.dumps(item, default=str))


@dlq.command(name="replay")
@click.option("--service", required=True)
@click.pass_obj
def dlq_replay(config: dict[str, Any], service: str) -> None:
    """Send every dead-lettered message back to the queue it died in (confirmed; a
    message whose queue is gone, or replayed too often already, stays in the DLQ)."""
    done = deadletters.replay(config["AMQP_URI"], service)
    click.echo(f"replayed {done.replayed}")
    for reason, ids in done.kept.items():
        click.echo(f"kept {len(ids)} ({reason}): {' '.join(ids)}", err=True)


@dlq.command(name="purge")
@click.option("--service", required=True)
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
def dlq_purge(config: dict[str, Any], service: str, yes: bool) -> None:
    """Drop every dead-lettered message of a service."""
    if not yes:
        click.confirm(f"drop every message in {service}.dlq?", abort=True)
    click.echo(f"purged {deadletters.purge(config['AMQP_URI'], service)}")


@dlq.command(name="inspect")
@click.option("--service", required=True)
@click.argument("message_id")
@click.pass_obj
def dlq_inspect(config: dict[str, Any], service: str, message_id: str) -> None:
    """One dead-lettered message in full: properties, headers (with x-death) and body."""
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
    if migrations_dir(source) is None:
        raise click.BadParameter(f"{source} keeps no event log", param_hint="--from")
    counts = replay(config, source, service_class(target), types)
    click.echo(json.dumps({"from": source, "to": target, "replayed": counts, "total": sum(counts.values())}))


@main.command()
@click.option("--role", required=True, help="One of the people's roles (services/roles.py PERSON_ROLES).")
@click.option("--subject", default=None, help="The person's id (a volunteer's id for volunteers and team leads).")
@click.option("--organisation", default=None, help="Organisation id (org claim), e.g. for org_admin.")
@click.option(
    "--ttl", default=3600, show_default=True, type=click.IntRange(1, 30 * 24 * 3600), help="Lifetime in seconds."
)
@click.pass_obj
def token(config: dict[str, Any], role: str, subject: str | None, organisation: str | None, ttl: int) -> None:
    """Print a bearer token for local use (the last line of the output)."""
    if role not in PERSON_ROLES:
        raise click.BadParameter(f"one of: {', '.join(PERSON_ROLES)}", param_hint="--role")
    value = issue_token(config, role, subject=subject, organisation_id=organisation, ttl=ttl, roles=PERSON_ROLES)
    click.echo(f"# {role} token, valid {ttl} s; send it as: Authorization: Bearer <token>", err=True)
    click.echo(value)


@main.command()
@click.argument("services", nargs=-1)
@click.pass_obj
def outbox(config: dict[str, Any], services: tuple[str, ...]) -> None:
    """Show each service's unsent events and the age of the oldest."""
    metadata = MetaData()
    define_kit_tables(metadata)
    for name in services or tuple(SERVICES):
        if migrations_dir(name) is None:
            continue
        count, age = backlog(engine_for(database_url(config, name), name), metadata.tables["outbox"])
        click.echo(json.dumps({"service": name, "unsent": count, "oldest_age_seconds": round(age, 1)}))


@main.command(name="broker-users")
@click.argument("definitions", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--management-url", envvar="YILIN_BROKER_MANAGEMENT_URL", required=True, help="e.g. http://rabbitmq:15672"
)
@click.option("--admin-user", envvar="YILIN_BROKER_ADMIN_USER", required=True)
@click.option("--admin-password", envvar="YILIN_BROKER_ADMIN_PASSWORD", required=True)
def broker_users_(definitions: str, management_url: str, admin_user: str, admin_password: str) -> None:
    """Create each service's broker user and grant its permissions (DEFINITIONS: the file
    tools/broker_users.py writes; passwords from YILIN_BROKER_PASSWORD_<SERVICE>)."""
    try:
        calls = broker_users.requests_for(json.loads(Path(definitions).read_text()), os.environ)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    broker_users.apply(management_url, (admin_user, admin_password), calls)
    click.echo(f"broker users: {len(calls)} changes applied")


@main.command(name="identity-key")
@click.argument("signer")
def identity_key(signer: str) -> None:
    """A new identity key pair for SIGNER (gateway, a service, or cli): the private key
    goes to that process alone, the public key to every service that trusts it."""
    private, public = new_private_key()
    click.echo(f"{env_name('YILIN_IDENTITY_KEY_', signer)}={private}")
    click.echo(f"{env_name('YILIN_IDENTITY_PUBLIC_KEY_', signer)}={public}")


@main.group()
def pii() -> None:
    """Personal data at rest."""


@pii.command(name="rotate")
@click.argument("services", nargs=-1)
@click.pass_obj
def pii_rotate(config: dict[str, Any], services: tuple[str, ...]) -> None:
    """Re-encrypt personal data under PII_KEY and recompute its fingerprints. Set the new
    secret as PII_KEY and the old one in PII_PREVIOUS_KEYS (services keep reading both),
    run this, then drop PII_PREVIOUS_KEYS. Safe to run again; resumes if interrupted."""
    results = pii_keys.rotate_services(config, services or tuple(SERVICES))
    for r in results:
        click.echo(f"{r.table}: {r.rows} rows, {r.values} values re-encrypted, {r.unreadable} unreadable")
    unreadable = sum(r.unreadable for r in results)
    if unreadable:
        raise click.ClickException(f"{unreadable} value(s) no known key decrypts: keep their key in PII_PREVIOUS_KEYS")


@main.command(name="retention")
@click.argument("services", nargs=-1)
@click.option(
    "--outbox-days", type=float, default=None, help="Keep sent outbox rows this long (RETENTION_OUTBOX_DAYS)."
)
@click.option("--inbox-days", type=float, default=None, help="Keep handled event ids this long (RETENTION_INBOX_DAYS).")
@click.option("--audit-days", type=float, default=None, help="Keep audit rows this long (RETENTION_AUDIT_DAYS).")
@click.option(
    "--rpc-days", type=float, default=None, help="Keep answered write RPC claims this long (RETENTION_RPC_DAYS)."
)
@click.option(
    "--archive-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where archived audit rows go, one JSON-lines file per service and run (RETENTION_ARCHIVE_DIR).",
)
@click.option("--batch", default=5000, show_default=True, help="Rows per transaction.")
@click.option("--vacuum", is_flag=True, help="VACUUM (ANALYZE) the tables afterwards (PostgreSQL).")
@click.pass_obj
def retention_(
    config: dict[str, Any],
    services: tuple[str, ...],
    outbox_days: float | None,
    inbox_days: float | None,
    audit_days: float | None,
    rpc_days: float | None,
    archive_dir: str | None,
    batch: int,
    vacuum: bool,
) -> None:
    """Prune sent outbox rows, old inbox ids and answered write RPC claims; archive and
    delete old audit rows."""
    policy = retention.Policy(
        outbox_days=outbox_days if outbox_days is not None else float(config.get("RETENTION_OUTBOX_DAYS", 14)),
        inbox_days=inbox_days if inbox_days is not None else float(config.get("RETENTION_INBOX_DAYS", 15)),
        audit_days=audit_days if audit_days is not None else float(config.get("RETENTION_AUDIT_DAYS", 400)),
        rpc_days=rpc_days if rpc_days is not None else float(config.get("RETENTION_RPC_DAYS", 14)),
        batch=batch,
        vacuum=vacuum,
    )
    try:
        policy.check()
    except retention.WindowTooShort as exc:
        raise click.BadParameter(str(exc)) from None
    folder = Path(archive_dir or config.get("RETENTION_ARCHIVE_DIR") or "var/audit-archive")
    for name in services or tuple(SERVICES):
        if migrations_dir(name) is None:
            continue
        outcome = retention.run(engine_for(database_url(config, name), name), name, policy, folder)
        click.echo(json.dumps(outcome.as_dict()))


if __name__ == "__main__":
    main()
