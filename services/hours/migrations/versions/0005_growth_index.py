"""growth index: one volunteer's verified entries by day, with their minutes, so team
months and community standings read the index alone however long the ledger grows
(bench growth stage, docs/performance.md "Growth")

Revision ID: 0005_growth_index
Revises: 0004_training
Create Date: 2026-12-04 20:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_growth_index'
down_revision = '0004_training'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_entries_verified_volunteer_served_on",
        "entries",
        ["volunteer_id", "served_on"],
        postgresql_include=["minutes"],
        postgresql_where=sa.text("status = 'verified'"),
        sqlite_where=sa.text("status = 'verified'"),
    )


def downgrade() -> None:
    op.drop_index("ix_entries_verified_volunteer_served_on", table_name="entries")
