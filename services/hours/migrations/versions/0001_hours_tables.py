"""hours tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 10:30:00
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
    op.create_table('attendance_sheets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('activity', sa.String(length=200), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attendance_sheets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_sheets_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('serial')
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=True),
    sa.Column('team_id', sa.String(length=36), nullable=True),
    sa.Column('community_id', sa.String(length=36), nullable=True),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('start_minute', sa.SmallInteger(), nullable=True),
    sa.Column('end_minute', sa.SmallInteger(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('content', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('corrects_id', sa.String(length=36), nullable=True),
    sa.Column('episode', sa.String(length=40), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_corrects_id'), ['corrects_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_entries_served_on_status', ['served_on', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_source_id'), ['source_id'], unique=False)
        batch_op.create_index('ix_entries_volunteer_served_on', ['volunteer_id', 'served_on'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('star_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('previous_level', sa.SmallInteger(), nullable=False),
    sa.Column('verified_minutes', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('star_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_star_changes_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('team_members',
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'volunteer_id')
    )
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_members_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_teams_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('ticket_states',
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_table('volunteer_totals',
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('verified_minutes', sa.Integer(), nullable=False),
    sa.Column('pending_minutes', sa.Integer(), nullable=False),
    sa.Column('star_level', sa.SmallInteger(), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('volunteer_id')
    )
    with op.batch_alter_table('volunteer_totals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_totals_verified_minutes'), ['verified_minutes'], unique=False)

    op.create_table('volunteers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('community_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteers_community_id'), ['community_id'], unique=False)

    op.create_table('entry_transitions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('entry_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_transitions_entry_id'), ['entry_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('entry_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_transitions_entry_id'))

    op.drop_table('entry_transitions')
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteers_community_id'))

    op.drop_table('volunteers')
    with op.batch_alter_table('volunteer_totals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_totals_verified_minutes'))

    op.drop_table('volunteer_totals')
    op.drop_table('ticket_states')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_teams_community_id'))

    op.drop_table('teams')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_members_volunteer_id'))

    op.drop_table('team_members')
    with op.batch_alter_table('star_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_star_changes_volunteer_id'))

    op.drop_table('star_changes')
    op.drop_table('organisations')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_volunteer_served_on')
        batch_op.drop_index(batch_op.f('ix_entries_source_id'))
        batch_op.drop_index('ix_entries_served_on_status')
        batch_op.drop_index(batch_op.f('ix_entries_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_entries_corrects_id'))

    op.drop_table('entries')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_volunteer_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('attendance_sheets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_sheets_organisation_id'))

    op.drop_table('attendance_sheets')
    drop_outbox_inbox_v1()
