"""The kit's own tables, present in every service's database beside its domain tables."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, Text, text


def new_id() -> str:
    """A new primary key: a random UUID as text, the same on SQLite and PostgreSQL."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (column defaults, timestamps)."""
    return datetime.now(timezone.utc)


def define_kit_tables(metadata: MetaData) -> None:
    """Add ``outbox``, ``inbox`` and ``audit`` to a service's metadata (its Alembic
    migrations create them; ``audit`` came with the registry's revision 0002)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("type", String(80), nullable=False),
        Column("version", Integer, nullable=False),
        Column("message", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
    )
    # The sweep looks only at unsent rows; a partial index keeps that scan tiny however
    # long the log of sent events grows.
    Index(
        "ix_outbox_unsent",
        outbox.c.created_at,
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    )
    Table(
        "inbox",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(80), nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False),
    )
    # Who changed what, when and from which request: one row per unit of work that
    # emitted events, written in its transaction (yilin.db). Ids are time-ordered so
    # the primary key doubles as the chronological cursor.
    audit = Table(
        "audit",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor_subject", String(128), nullable=False),
        Column("actor_role", String(32), nullable=False),
        Column("actor_organisation_id", String(64), nullable=True),
        Column("entrypoint", String(80), nullable=True),
        Column("action", Text, nullable=False),
        Column("entity_ids", JSON, nullable=False),
        Column("event_ids", JSON, nullable=False),
        Column("correlation_id", String(64), nullable=True),
    )
    Index("ix_audit_actor_subject", audit.c.actor_subject)
    Index("ix_audit_correlation_id", audit.c.correlation_id)
