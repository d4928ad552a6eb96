"""a category's maximum credit per volunteer (minutes one volunteer may be credited on one ticket)

Revision ID: 0004
Revises: 0003_district
Create Date: 2026-12-04 16:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003_district'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_categories") as batch:
        batch.add_column(sa.Column("max_credit_minutes", sa.Integer(), nullable=False, server_default="480"))


def downgrade() -> None:
    with op.batch_alter_table("ticket_categories") as batch:
        batch.drop_column("max_credit_minutes")
