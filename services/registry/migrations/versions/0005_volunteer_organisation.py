"""a volunteer's own organisation: its administrators edit them, another team's do not

Existing volunteers belong to the organisation of the first team they joined.

Revision ID: 0005_volunteer_organisation
Revises: 0004_rpc_requests
Create Date: 2026-12-04 23:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_volunteer_organisation'
down_revision = '0004_rpc_requests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_volunteers_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_volunteers_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id']
        )
    op.execute(
        "UPDATE volunteers SET organisation_id = (SELECT t.organisation_id FROM memberships m"
        " JOIN teams t ON t.id = m.team_id WHERE m.volunteer_id = volunteers.id"
        " ORDER BY m.joined_at, m.team_id LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_volunteers_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_volunteers_organisation_id'))
        batch_op.drop_column('organisation_id')
