"""write RPCs apply once: each write's key and first answer, kept with its change (yilin.writes)

Revision ID: 0002_rpc_requests
Revises: 0001
Create Date: 2026-12-04 21:00:00.000000
"""
from yilin.kit_migrations import create_rpc_requests_v1, drop_rpc_requests_v1

revision = '0002_rpc_requests'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rpc_requests_v1()


def downgrade() -> None:
    drop_rpc_requests_v1()
