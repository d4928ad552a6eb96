"""The kit's own tables, present in every service's database beside its domain tables."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table, text


def define_kit_tables(metadata: MetaData) -> None:
    """Add ``outbox`` and ``inbox`` to a service's metadata (its Alembic migrations
    create them with the service's first revision)."""
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
