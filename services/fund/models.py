"""The fund's tables. Money is integer fen in ``BigInteger`` columns; the ledger
(``transfers`` and ``entries``) is append-only, enforced by database triggers, and
``accounts.balance_fen`` is the row a posting locks (``SELECT … FOR UPDATE``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yilin.tables import define_kit_tables, new_id, utcnow
from yilin.writes import define_rpc_requests


class Base(DeclarativeBase):
    pass


define_kit_tables(Base.metadata)
define_rpc_requests(Base.metadata)  # write RPCs' keys and answers (yilin.writes)


class Enterprise(Base):
    """A community social enterprise and the contribution rate of its charter."""

    __tablename__ = "enterprises"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_organisation_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    contribution_rate_bp: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint("contribution_rate_bp BETWEEN 0 AND 10000", name="ck_enterprises_rate"),)


class ProfitReport(Base):
    """One version of an enterprise's annual report; an amendment is a new version."""

    __tablename__ = "profit_reports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    net_profit_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    audited: Mapped[bool] = mapped_column(Boolean)
    document_ref: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    rate_bp: Mapped[int] = mapped_column(Integer)
    contribution_fen: Mapped[int] = mapped_column(BigInteger)  # what this version's profit owes in all
    adjustment_fen: Mapped[int] = mapped_column(BigInteger)  # what this version moved (signed)
    transfer_id: Mapped[str | None] = mapped_column(String(36))
    reported_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (UniqueConstraint("enterprise_id", "fiscal_year", "version", name="uq_profit_reports_version"),)


class Account(Base):
    """A ledger account; ``balance_fen`` is debits minus credits."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # pool, enterprise, expense
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(36))
    category: Mapped[str | None] = mapped_column(String(32))
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint("kind <> 'pool' OR balance_fen >= 0", name="ck_accounts_pool_not_negative"),)


class Transfer(Base):
    """One movement of money: its id is the client-supplied id."""

    __tablename__ = "transfers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # contribution, contribution_reversal, disbursement
    debit_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    credit_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    reference_id: Mapped[str] = mapped_column(String(36), index=True)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_transfers_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="ck_transfers_two_accounts"),
    )


class Entry(Base):
    """One side of a transfer; every transfer has exactly one debit and one credit."""

    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    side: Mapped[str] = mapped_column(String(6))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_entries_positive"),
        CheckConstraint("side IN ('debit', 'credit')", name="ck_entries_side"),
        UniqueConstraint("transfer_id", "side", name="uq_entries_side"),
    )


class ClientRequest(Base):
    """A client-supplied id and the first answer given to it (idempotent retries)."""

    __tablename__ = "client_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40))
    body_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Disbursement(Base):
    """A request to spend from a community's pool."""

    __tablename__ = "disbursements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    category: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(500))
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    # The resident's suggestion (tickets service, 益邻·心声) this spending answers.
    suggestion_id: Mapped[str | None] = mapped_column(String(36), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    transfer_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_disbursements_positive"),)


class Approval(Base):
    """One committee member's approval of a disbursement request."""

    __tablename__ = "disbursement_approvals"
    disbursement_id: Mapped[str] = mapped_column(ForeignKey("disbursements.id"), primary_key=True)
    approver: Mapped[str] = mapped_column(String(80), primary_key=True)
    recorded_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
