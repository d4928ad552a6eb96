"""district structure: town/village/grid places (no schema change), partner services and
coverage, district-wide teams, cadres on grids

Revision ID: 0003_district
Revises: 0002
Create Date: 2026-12-04 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_district'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('organisations', sa.Column('services', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('organisations', sa.Column('district_wide', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('teams', sa.Column('district_wide', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('coverage',
                    sa.Column('holder_id', sa.String(length=36), nullable=False),
                    sa.Column('community_id', sa.String(length=36), nullable=False),
                    sa.ForeignKeyConstraint(['community_id'], ['places.id']),
                    sa.PrimaryKeyConstraint('holder_id', 'community_id'))
    op.create_index('ix_coverage_community', 'coverage', ['community_id', 'holder_id'])
    op.create_table('cadres',
                    sa.Column('id', sa.String(length=36), nullable=False),
                    sa.Column('code', sa.String(length=40), nullable=False),
                    sa.Column('name', sa.String(length=100), nullable=False),
                    sa.Column('organisation_id', sa.String(length=36), nullable=False),
                    sa.Column('volunteer_id', sa.String(length=36), nullable=True),
                    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id']),
                    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id']),
                    sa.PrimaryKeyConstraint('id'), sa.UniqueConstraint('code'))
    op.create_index('ix_cadres_organisation_id', 'cadres', ['organisation_id'])
    op.create_index('ix_cadres_volunteer_id', 'cadres', ['volunteer_id'])
    op.create_table('cadre_grids',
                    sa.Column('cadre_id', sa.String(length=36), nullable=False),
                    sa.Column('grid_id', sa.String(length=36), nullable=False),
                    sa.ForeignKeyConstraint(['cadre_id'], ['cadres.id'], ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['grid_id'], ['places.id']),
                    sa.PrimaryKeyConstraint('cadre_id', 'grid_id'))
    op.create_index('ix_cadre_grids_grid_id', 'cadre_grids', ['grid_id'])


def downgrade() -> None:
    op.drop_table('cadre_grids')
    op.drop_table('cadres')
    op.drop_table('coverage')
    op.drop_column('teams', 'district_wide')
    op.drop_column('organisations', 'district_wide')
    op.drop_column('organisations', 'services')
