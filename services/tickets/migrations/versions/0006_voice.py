"""residents' voice: suggestions with their residents and links, mediation cases with
parties and sessions, beneficiary groups on tickets

Revision ID: 0006_voice
Revises: 0005_rpc_requests
Create Date: 2026-12-04 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_voice'
down_revision = '0005_rpc_requests'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("beneficiary_groups", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "suggestions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False, index=True),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("collected_by", sa.String(64), nullable=False),
        sa.Column("collected_by_role", sa.String(20), nullable=False),
        sa.Column("merged_into_id", sa.String(36), index=True),
        sa.Column("collected_at", TZ, nullable=False),
        sa.Column("answer_due_at", TZ, nullable=False),
        sa.Column("answered_at", TZ),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("answer", sa.Text()),
        sa.Column("acted_at", TZ),
        sa.Column("escalated_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_suggestions_state_due", "suggestions", ["state", "answer_due_at"])
    op.create_table(
        "suggestion_residents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "suggestion_id", sa.String(36), sa.ForeignKey("suggestions.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("raised_in_id", sa.String(36), nullable=False),
        sa.Column("resident_id", sa.String(64), index=True),
        sa.Column("name_masked", sa.String(100), nullable=False),
        sa.Column("phone_masked", sa.String(11)),
        sa.Column("phone_encrypted", sa.String(200)),
        sa.Column("raised_at", TZ, nullable=False),
    )
    op.create_table(
        "suggestion_links",
        sa.Column("suggestion_id", sa.String(36), sa.ForeignKey("suggestions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(24), primary_key=True),
        sa.Column("target_id", sa.String(36), primary_key=True),
        sa.Column("linked_by", sa.String(64), nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
    )
    op.create_table(
        "mediation_cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("community_id", sa.String(36), nullable=False, index=True),
        sa.Column("street_id", sa.String(36), index=True),
        sa.Column("ticket_id", sa.String(36)),
        sa.Column("social_worker_id", sa.String(36), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("state", sa.String(12), nullable=False, index=True),
        sa.Column("outcome", sa.String(16)),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, index=True),
    )
    op.create_table(
        "mediation_parties",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("mediation_cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("number", sa.SmallInteger(), primary_key=True),
        sa.Column("name_masked", sa.String(100), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("rating", sa.SmallInteger()),
    )
    op.create_table(
        "mediation_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "case_id", sa.String(36), sa.ForeignKey("mediation_cases.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("held_at", TZ, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(500)),
        sa.Column("recorded_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("mediation_sessions", "mediation_parties", "mediation_cases", "suggestion_links", "suggestion_residents"):
        op.drop_table(table)
    op.drop_index("ix_suggestions_state_due", table_name="suggestions")
    op.drop_table("suggestions")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("beneficiary_groups")
