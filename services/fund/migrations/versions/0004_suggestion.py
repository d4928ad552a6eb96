"""a disbursement request names the residents' suggestion it answers

Revision ID: 0004_suggestion
Revises: 0003_rpc_requests
Create Date: 2026-12-04 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_suggestion'
down_revision = '0003_rpc_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disbursements") as batch:
        batch.add_column(sa.Column("suggestion_id", sa.String(36)))
        batch.create_index("ix_disbursements_suggestion_id", ["suggestion_id"])


def downgrade() -> None:
    with op.batch_alter_table("disbursements") as batch:
        batch.drop_index("ix_disbursements_suggestion_id")
        batch.drop_column("suggestion_id")
