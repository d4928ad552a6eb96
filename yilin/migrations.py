"""Alembic migrations for each service's own database (or PostgreSQL schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url

from yilin.db import engine_for


def alembic_config(service: str, url: str, migrations_dir: Path) -> Config:
    """An Alembic config for one service, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the service's database to ``revision``, creating its schema on PostgreSQL."""
    if make_url(url).get_backend_name() == "postgresql":
        engine = engine_for(url, service)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
    command.upgrade(alembic_config(service, url, migrations_dir), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    config = context.config
    service: str = config.attributes["service"]
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic config has no sqlalchemy.url; run migrations through `yilin migrate`")
    engine = engine_for(url, service)
    options: dict[str, Any] = {"target_metadata": metadata, "compare_type": True}
    if engine.dialect.name == "sqlite":
        options["render_as_batch"] = True  # SQLite alters tables by copying them
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
