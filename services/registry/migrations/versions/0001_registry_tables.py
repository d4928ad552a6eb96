"""registry tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 09:48:02.110743
"""
from alembic import op
import sqlalchemy as sa

from yilin.kit_migrations import create_outbox_inbox_v1, drop_outbox_inbox_v1


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_inbox_v1()
    op.create_table('places',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['places.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_places_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_places_parent_id'), ['parent_id'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['places.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_kind'), ['kind'], unique=False)

    op.create_table('volunteers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('id_number_masked', sa.String(length=18), nullable=False),
    sa.Column('id_number_encrypted', sa.String(length=200), nullable=False),
    sa.Column('phone_masked', sa.String(length=11), nullable=True),
    sa.Column('phone_encrypted', sa.String(length=200), nullable=True),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['places.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_number_hash'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteers_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteers_status'), ['status'], unique=False)

    op.create_table('certifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certifications_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('service_units',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('sector_id', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_organisation_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['community_id'], ['places.id'], ),
    sa.ForeignKeyConstraint(['sector_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['volunteer_organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('service_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_units_community_id'), ['community_id'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('professional', sa.Boolean(), nullable=False),
    sa.Column('domain', sa.String(length=40), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['places.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_teams_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('volunteer_skills',
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('skill', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volunteer_id', 'skill')
    )
    with op.batch_alter_table('volunteer_skills', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_skills_skill', ['skill', 'volunteer_id'], unique=False)

    op.create_table('memberships',
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], ),
    sa.PrimaryKeyConstraint('team_id', 'volunteer_id')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('unit_volunteers',
    sa.Column('unit_id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['service_units.id'], ),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], ),
    sa.PrimaryKeyConstraint('unit_id', 'volunteer_id')
    )


def downgrade() -> None:
    op.drop_table('unit_volunteers')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_volunteer_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('volunteer_skills', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_skills_skill')

    op.drop_table('volunteer_skills')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_teams_community_id'))

    op.drop_table('teams')
    with op.batch_alter_table('service_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_units_community_id'))

    op.drop_table('service_units')
    with op.batch_alter_table('certifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certifications_volunteer_id'))

    op.drop_table('certifications')
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteers_status'))
        batch_op.drop_index(batch_op.f('ix_volunteers_community_id'))

    op.drop_table('volunteers')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_kind'))
        batch_op.drop_index(batch_op.f('ix_organisations_community_id'))

    op.drop_table('organisations')
    with op.batch_alter_table('places', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_places_parent_id'))
        batch_op.drop_index(batch_op.f('ix_places_level'))

    op.drop_table('places')
    drop_outbox_inbox_v1()
