"""activities carry the micro-grid (微网格) they take place in, for reports by grid

Revision ID: 0003_activity_grid
Revises: 0002_rpc_requests
Create Date: 2026-12-04 23:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_activity_grid'
down_revision = '0002_rpc_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activities') as batch:
        batch.add_column(sa.Column('grid_id', sa.String(length=36), nullable=True))
        batch.create_index('ix_activities_grid_id', ['grid_id'])


def downgrade() -> None:
    with op.batch_alter_table('activities') as batch:
        batch.drop_index('ix_activities_grid_id')
        batch.drop_column('grid_id')
