"""tickets tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 09:55:58.144741
"""
import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

from yilin.kit_migrations import create_outbox_inbox_v1, drop_outbox_inbox_v1


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def _choice(code, label, choices, required=False, multi=False):
    return {"code": code, "label": label, "type": "multi_choice" if multi else "single_choice",
            "required": required, "choices": choices}


def _field(code, label, kind, required=False):
    return {"code": code, "label": label, "type": kind, "required": required, "choices": None}


# The district's typical needs. Minutes are SLA deadlines from the resident's report; the
# ids are fixed so every installation names the seeded categories alike.
SEED = [
    ("utility_bills", "代缴水电费 Help paying water and electricity bills", "errands", 240, 2880, False, False,
     [_choice("utility", "Which bills", ["water", "electricity", "gas"], required=True, multi=True),
      _field("amount_fen", "Approximate amount (fen)", "number")]),
    ("blocked_drain", "下水道堵塞 Blocked drain", "plumbing", 120, 1440, False, False,
     [_choice("location", "Where", ["kitchen", "bathroom", "courtyard", "public_area"], required=True)]),
    ("lost_key", "钥匙丢失 Lost key or lock-out", "locksmith", 30, 240, False, False,
     [_field("locked_out", "Locked out now (yes/no)", "string")]),
    ("neighbour_dispute", "邻里纠纷 Neighbour dispute", "mediation", 240, 10080, True, True,
     [_choice("kind", "Kind of dispute", ["noise", "water_leak", "parking", "shared_space", "other"], required=True),
      _field("parties", "Households involved", "number")]),
    ("noise_complaint", "噪音投诉 Noise complaint", "mediation", 240, 4320, False, False,
     [_choice("period", "When", ["night", "day", "weekend"], required=True)]),
    ("elder_home_visit", "独居老人上门探访义诊 Home visit with free clinic for an elder living alone", "elder_care",
     1440, 10080, False, False,
     [_choice("services", "Clinic services wanted", ["blood_pressure", "blood_sugar", "medication_review",
                                                      "companionship"], required=True, multi=True),
      _field("preferred_time", "Preferred visit time", "datetime"),
      _field("age", "Age", "number")]),
    ("child_in_difficulty", "困境儿童关爱 Care for a child in difficulty", "child_protection", 120, 10080, True, False,
     [_choice("need", "Need", ["guardianship", "schooling", "health", "safety"], required=True)]),
    ("gig_worker", "新就业形态劳动者诉求 Delivery rider or other new-employment worker", "labour_rights",
     480, 7200, False, False,
     [_choice("issue", "Issue", ["wages", "accident", "insurance", "rest_station", "other"], required=True),
      _field("platform", "Platform", "string")]),
    ("resident_suggestion", "益邻·心声 Suggestion collected door to door", "community_affairs", 4320, 20160,
     False, False,
     [_choice("topic", "Topic", ["environment", "parking", "greening", "safety", "facilities", "other"],
              required=True)]),
]


def _seed(table) -> None:
    now = datetime.now(timezone.utc)
    op.bulk_insert(table, [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"yilin:ticket-category:{code}")), "code": code, "name": name,
         "skill": skill, "assign_minutes": assign, "resolve_minutes": resolve, "needs_social_worker": social,
         "dispute": dispute, "fields": fields, "active": True, "created_at": now}
        for code, name, skill, assign, resolve, social, dispute, fields in SEED])


def upgrade() -> None:
    create_outbox_inbox_v1()
    categories = op.create_table('ticket_categories',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('skill', sa.String(length=40), nullable=False),
    sa.Column('assign_minutes', sa.Integer(), nullable=False),
    sa.Column('resolve_minutes', sa.Integer(), nullable=False),
    sa.Column('needs_social_worker', sa.Boolean(), nullable=False),
    sa.Column('dispute', sa.Boolean(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('tickets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('category_id', sa.String(length=36), nullable=False),
    sa.Column('category_code', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=True),
    sa.Column('resident_name', sa.String(length=100), nullable=False),
    sa.Column('resident_phone_masked', sa.String(length=11), nullable=True),
    sa.Column('resident_phone_encrypted', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('needs_social_worker', sa.Boolean(), nullable=False),
    sa.Column('team_id', sa.String(length=36), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assign_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolve_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_reason', sa.String(length=20), nullable=True),
    sa.Column('assign_breached', sa.Boolean(), nullable=False),
    sa.Column('resolve_breached', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('auto_confirmed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['ticket_categories.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_category_id'), ['category_id'], unique=False)
        batch_op.create_index('ix_tickets_community_created', ['community_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_state'), ['state'], unique=False)
        batch_op.create_index('ix_tickets_state_assign_due', ['state', 'assign_due_at'], unique=False)
        batch_op.create_index('ix_tickets_state_resolve_due', ['state', 'resolve_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_team_id'), ['team_id'], unique=False)

    op.create_table('ticket_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_history_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_volunteers',
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('volunteer_id', sa.String(length=36), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'volunteer_id')
    )
    with op.batch_alter_table('ticket_volunteers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_volunteers_volunteer_id'), ['volunteer_id'], unique=False)

    _seed(categories)


def downgrade() -> None:
    with op.batch_alter_table('ticket_volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_volunteers_volunteer_id'))

    op.drop_table('ticket_volunteers')
    with op.batch_alter_table('ticket_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_history_ticket_id'))

    op.drop_table('ticket_history')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_team_id'))
        batch_op.drop_index('ix_tickets_state_resolve_due')
        batch_op.drop_index('ix_tickets_state_assign_due')
        batch_op.drop_index(batch_op.f('ix_tickets_state'))
        batch_op.drop_index(batch_op.f('ix_tickets_resident_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_community_id'))
        batch_op.drop_index('ix_tickets_community_created')
        batch_op.drop_index(batch_op.f('ix_tickets_category_id'))

    op.drop_table('tickets')
    op.drop_table('ticket_categories')
    drop_outbox_inbox_v1()
