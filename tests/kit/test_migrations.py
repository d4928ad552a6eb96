"""Every service's Alembic history builds exactly the schema its models declare, on
SQLite and PostgreSQL, and can be walked down and up again."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services import SERVICES
from yilin.config import database_url as resolve_url
from yilin.db import engine_for
from yilin.migrations import alembic_config, upgrade
from yilinctl.cli import migrations_dir

WITH_DATABASE = [name for name in SERVICES if migrations_dir(name) is not None]


def metadata_of(service: str) -> Any:
    module, _, attr = SERVICES[service].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls.db.metadata


@pytest.mark.parametrize("service", WITH_DATABASE)
def test_migrations_match_the_models_and_round_trip(service: str, database_url: str) -> None:
    url = resolve_url({"DATABASE_URL": database_url}, service, environ={})
    folder = migrations_dir(service)
    upgrade(service, url, folder)
    engine = engine_for(url, service)

    def differences() -> list[Any]:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata_of(service))

    assert differences() == []
    config = alembic_config(service, url, folder)
    command.downgrade(config, "base")
    with engine.connect() as conn:
        left = set(engine.dialect.get_table_names(conn)) - {"alembic_version"}
    assert left == set()
    command.upgrade(config, "head")
    assert differences() == []
