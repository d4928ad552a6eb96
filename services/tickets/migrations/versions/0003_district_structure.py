"""tickets carry their grid, a partner assignee and the social worker named on escalation

Revision ID: 0003_district
Revises: 0002
Create Date: 2026-12-04 16:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_district'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tickets', sa.Column('grid_id', sa.String(length=36), nullable=True))
    op.add_column('tickets', sa.Column('partner_id', sa.String(length=36), nullable=True))
    op.add_column('tickets', sa.Column('social_worker_id', sa.String(length=36), nullable=True))
    op.add_column('tickets', sa.Column('social_worker_name', sa.String(length=100), nullable=True))
    op.create_index('ix_tickets_grid_id', 'tickets', ['grid_id'])
    op.create_index('ix_tickets_partner_id', 'tickets', ['partner_id'])


def downgrade() -> None:
    op.drop_index('ix_tickets_partner_id', 'tickets')
    op.drop_index('ix_tickets_grid_id', 'tickets')
    for column in ('social_worker_name', 'social_worker_id', 'partner_id', 'grid_id'):
        op.drop_column('tickets', column)
