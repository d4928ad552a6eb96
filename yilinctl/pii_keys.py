"""``yilin pii rotate``: re-encrypt every service's personal data under the current
``PII_KEY`` (the previous ones in ``PII_PREVIOUS_KEYS``), service by service."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from yilin.config import database_url
from yilin.db import engine_for
from yilin.pii import personal_data
from yilin.rotation import Rotated, rotate


def encrypted_tables(service: str) -> list[tuple[Any, Any]]:
    """(table, spec) of each table where ``service`` keeps encrypted values (its models' ``ENCRYPTED``)."""
    models = importlib.import_module(f"services.{service}.models")
    specs = getattr(models, "ENCRYPTED", ())
    return [(models.Base.metadata.tables[spec.table], spec) for spec in specs]


def rotate_services(config: dict[str, Any], services: Iterable[str]) -> list[Rotated]:
    """Rotate each service's tables; one :class:`Rotated` per table."""
    pii = personal_data(config)
    done = []
    for service in services:
        tables = encrypted_tables(service)
        if tables:
            engine = engine_for(database_url(config, service), service)
            done += [rotate(engine, table, spec, pii) for table, spec in tables]
    return done
