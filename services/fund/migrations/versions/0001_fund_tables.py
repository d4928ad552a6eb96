"""fund tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 09:56:06.618704

The fund's tables, with the ledger (transfers, entries, client ids) append-only by trigger.
"""
from alembic import op
import sqlalchemy as sa

from yilin.kit_migrations import create_outbox_inbox_v1, drop_outbox_inbox_v1


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY = ("transfers", "entries", "client_requests")


def _append_only() -> None:
    """The ledger is append-only in the database itself, not only by convention."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE FUNCTION fund_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the fund ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION fund_append_only()")
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'the fund ledger is append-only'); END")


def upgrade() -> None:
    create_outbox_inbox_v1()
    op.create_table('accounts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind <> 'pool' OR balance_fen >= 0", name='ck_accounts_pool_not_negative'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_kind'), ['kind'], unique=False)

    op.create_table('client_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('disbursements',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=True),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.Column('transfer_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name='ck_disbursements_positive'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disbursements_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disbursements_status'), ['status'], unique=False)

    op.create_table('enterprises',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('owner_organisation_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=True),
    sa.Column('contribution_rate_bp', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('contribution_rate_bp BETWEEN 0 AND 10000', name='ck_enterprises_rate'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('organisation_id')
    )
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprises_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprises_owner_organisation_id'), ['owner_organisation_id'], unique=False)

    op.create_table('disbursement_approvals',
    sa.Column('disbursement_id', sa.String(length=36), nullable=False),
    sa.Column('approver', sa.String(length=80), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['disbursement_id'], ['disbursements.id'], ),
    sa.PrimaryKeyConstraint('disbursement_id', 'approver')
    )
    op.create_table('profit_reports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('net_profit_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('audited', sa.Boolean(), nullable=False),
    sa.Column('document_ref', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    sa.Column('contribution_fen', sa.BigInteger(), nullable=False),
    sa.Column('adjustment_fen', sa.BigInteger(), nullable=False),
    sa.Column('transfer_id', sa.String(length=36), nullable=True),
    sa.Column('reported_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'fiscal_year', 'version', name='uq_profit_reports_version')
    )
    with op.batch_alter_table('profit_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profit_reports_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_profit_reports_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('debit_account_id', sa.String(length=36), nullable=False),
    sa.Column('credit_account_id', sa.String(length=36), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('community_id', sa.String(length=36), nullable=False),
    sa.Column('reference_id', sa.String(length=36), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name='ck_transfers_positive'),
    sa.CheckConstraint('debit_account_id <> credit_account_id', name='ck_transfers_two_accounts'),
    sa.ForeignKeyConstraint(['credit_account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['debit_account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_credit_account_id'), ['credit_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_debit_account_id'), ['debit_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_posted_at'), ['posted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_reference_id'), ['reference_id'], unique=False)

    op.create_table('entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('transfer_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('side', sa.String(length=6), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("side IN ('debit', 'credit')", name='ck_entries_side'),
    sa.CheckConstraint('amount_fen > 0', name='ck_entries_positive'),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('transfer_id', 'side', name='uq_entries_side')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_posted_at'), ['posted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_transfer_id'), ['transfer_id'], unique=False)

    _append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION fund_append_only() CASCADE")
    else:
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_entries_posted_at'))
        batch_op.drop_index(batch_op.f('ix_entries_account_id'))

    op.drop_table('entries')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_reference_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_posted_at'))
        batch_op.drop_index(batch_op.f('ix_transfers_debit_account_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_credit_account_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_community_id'))

    op.drop_table('transfers')
    with op.batch_alter_table('profit_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profit_reports_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_profit_reports_community_id'))

    op.drop_table('profit_reports')
    op.drop_table('disbursement_approvals')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprises_owner_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_enterprises_community_id'))

    op.drop_table('enterprises')
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disbursements_status'))
        batch_op.drop_index(batch_op.f('ix_disbursements_community_id'))

    op.drop_table('disbursements')
    op.drop_table('client_requests')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_kind'))
        batch_op.drop_index(batch_op.f('ix_accounts_community_id'))

    op.drop_table('accounts')
    drop_outbox_inbox_v1()
