"""volunteer organisation: the projection keeps the registry's organisation of each
volunteer (volunteer.registered carries it), so an organisation's staff read the hours
of their own organisation's volunteers only; volunteers announced before stay NULL

Revision ID: 0006_volunteer_organisation
Revises: 0005_growth_index
Create Date: 2026-12-05 02:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006_volunteer_organisation'
down_revision = '0005_growth_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("organisation_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_volunteers_organisation_id", ["organisation_id"])


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_index("ix_volunteers_organisation_id")
        batch.drop_column("organisation_id")
