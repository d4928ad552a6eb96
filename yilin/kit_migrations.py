"""Migration steps for the kit's own tables, shared by every service's Alembic history.

Each step is frozen once released: a later change to a kit table is a new step with a
new name, so replaying an old service revision always builds the same schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_outbox_inbox_v1() -> None:
    """The ``outbox`` (events committed with their change, with a partial index on the
    unsent ones) and ``inbox`` (ids of events already handled) tables."""
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_unsent",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("sent_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL"),
        )


def drop_outbox_inbox_v1() -> None:
    """Undo :func:`create_outbox_inbox_v1`."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_unsent", postgresql_where=sa.text("sent_at IS NULL"), sqlite_where=sa.text("sent_at IS NULL")
        )
    op.drop_table("outbox")
    op.drop_table("inbox")


def create_audit_v1() -> None:
    """The ``audit`` table (yilin.audit): who changed what, when, from which request."""
    op.create_table(
        "audit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject", sa.String(length=128), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("actor_organisation_id", sa.String(length=64), nullable=True),
        sa.Column("entrypoint", sa.String(length=80), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity_ids", sa.JSON(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index("ix_audit_actor_subject", ["actor_subject"], unique=False)
        batch_op.create_index("ix_audit_correlation_id", ["correlation_id"], unique=False)


def drop_audit_v1() -> None:
    """Undo :func:`create_audit_v1`."""
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_correlation_id")
        batch_op.drop_index("ix_audit_actor_subject")
    op.drop_table("audit")


def create_rpc_requests_v1() -> None:
    """The ``rpc_requests`` table (yilin.writes): each write RPC's key, method, body hash
    and first answer, stored with the change it made."""
    op.create_table(
        "rpc_requests",
        sa.Column("caller", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=120), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", "method", "body_hash", name="pk_rpc_requests"),
    )
    with op.batch_alter_table("rpc_requests", schema=None) as batch_op:
        batch_op.create_index("ix_rpc_requests_created_at", ["created_at"], unique=False)


def drop_rpc_requests_v1() -> None:
    """Undo :func:`create_rpc_requests_v1`."""
    with op.batch_alter_table("rpc_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_rpc_requests_created_at")
    op.drop_table("rpc_requests")
