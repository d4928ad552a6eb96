"""the kit's audit table (every service's database holds it)

Revision ID: 0002
Revises: 0001
"""
from yilin.kit_migrations import create_audit_v1, drop_audit_v1

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_v1()


def downgrade() -> None:
    drop_audit_v1()
