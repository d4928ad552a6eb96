"""activities: attendance sources, training sessions and commendations

Revision ID: 0004_training
Revises: 0003_rpc_requests
Create Date: 2026-12-04 19:50:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_training'
down_revision = '0003_rpc_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_sources',
    sa.Column('activity_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('organiser_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('activity_id')
    )
    op.create_table('trainings',
    sa.Column('activity_id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('activity_id', 'volunteer_id')
    )
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainings_volunteer_id'), ['volunteer_id'], unique=False)
    op.create_table('commendations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('awarded_on', sa.Date(), nullable=False),
    sa.Column('awarding_body', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('commendations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commendations_volunteer_id'), ['volunteer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('commendations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commendations_volunteer_id'))
    op.drop_table('commendations')
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainings_volunteer_id'))
    op.drop_table('trainings')
    op.drop_table('activity_sources')
