"""The double-entry fund ledger. Every transfer writes one debit and one credit entry of
the same amount, so debits equal credits at all times; rows are only ever added.
``accounts.balance_fen`` (debits − credits) is kept in the same transaction under a row
lock, which is what stops two payments from overdrawing a pool together."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.fund.models import Account, Entry, Transfer, new_id, utcnow
from services.fund.rules import overdraws, yuan
from services.indicators import day_bounds
from yilin.db import insert_ignoring_conflicts
from yilin.errors import Conflict


def pool_code(community_id: str) -> str:
    return f"pool:{community_id}"


def enterprise_code(enterprise_id: str) -> str:
    return f"enterprise:{enterprise_id}"


def expense_code(community_id: str, category: str) -> str:
    return f"expense:{community_id}:{category}"


def account(
    session: Session,
    code: str,
    kind: str,
    community_id: str,
    *,
    enterprise_id: str | None = None,
    category: str | None = None,
) -> Account:
    """The account ``code``, opened on first use (concurrent openers do not collide)."""
    existing = session.scalar(select(Account).where(Account.code == code))
    if existing is not None:
        return existing
    table: Any = Account.__table__
    session.execute(
        insert_ignoring_conflicts(session, table).values(
            id=new_id(),
            code=code,
            kind=kind,
            community_id=community_id,
            enterprise_id=enterprise_id,
            category=category,
            balance_fen=0,
            created_at=utcnow(),
        )
    )
    return session.scalars(select(Account).where(Account.code == code)).one()


def pool(session: Session, community_id: str) -> Account:
    return account(session, pool_code(community_id), "pool", community_id)


def pool_balance(session: Session, community_id: str) -> int:
    balance = session.scalar(select(Account.balance_fen).where(Account.code == pool_code(community_id)))
    return int(balance or 0)


def post(
    session: Session,
    transfer_id: str,
    kind: str,
    debit: Account,
    credit: Account,
    amount_fen: int,
    community_id: str,
    reference_id: str,
    field: str = "amount",
) -> Transfer:
    """Move ``amount_fen`` from ``credit`` to ``debit``. Both balance rows are locked
    (``SELECT … FOR UPDATE``, in id order so two postings cannot deadlock) before the
    pool's balance is checked; a pool is never overdrawn."""
    if amount_fen <= 0:
        raise ValueError("a transfer moves a positive amount")
    if session.get(Transfer, transfer_id) is not None:
        raise Conflict("this transfer id was already used", {"transfer_id": ["already used"]})
    locked = {
        a.id: a
        for a in session.scalars(
            select(Account)
            .where(Account.id.in_([debit.id, credit.id]))
            .order_by(Account.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    source = locked[credit.id]
    if overdraws(source.kind, source.balance_fen, amount_fen):
        raise Conflict(
            f"the pool holds ¥{yuan(source.balance_fen)}, less than the ¥{yuan(amount_fen)} asked for",
            {field: [f"exceeds the pool balance of {source.balance_fen} fen"]},
        )
    now = utcnow()
    transfer = Transfer(
        id=transfer_id,
        kind=kind,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount_fen=amount_fen,
        community_id=community_id,
        reference_id=reference_id,
        posted_at=now,
    )
    session.add(transfer)
    session.flush()
    session.add_all(
        [
            Entry(transfer_id=transfer_id, account_id=debit.id, side="debit", amount_fen=amount_fen, posted_at=now),
            Entry(transfer_id=transfer_id, account_id=credit.id, side="credit", amount_fen=amount_fen, posted_at=now),
        ]
    )
    session.execute(update(Account).where(Account.id == debit.id).values(balance_fen=Account.balance_fen + amount_fen))
    session.execute(update(Account).where(Account.id == credit.id).values(balance_fen=Account.balance_fen - amount_fen))
    session.flush()
    for row in locked.values():
        session.refresh(row)
    return transfer


def trial_balance(session: Session) -> dict[str, Any]:
    """Debits, credits and every account's balance, each recomputed from the entries."""
    sums = dict(
        session.execute(select(Entry.side, func.coalesce(func.sum(Entry.amount_fen), 0)).group_by(Entry.side)).all()
    )
    per_account: dict[str, int] = {}
    for account_id, side, amount in session.execute(
        select(Entry.account_id, Entry.side, func.sum(Entry.amount_fen)).group_by(Entry.account_id, Entry.side)
    ):
        per_account[account_id] = per_account.get(account_id, 0) + (int(amount) if side == "debit" else -int(amount))
    accounts = []
    for row in session.scalars(select(Account).order_by(Account.code)):
        accounts.append(
            {
                "code": row.code,
                "kind": row.kind,
                "balance_fen": per_account.get(row.id, 0),
                "stored_balance_fen": row.balance_fen,
            }
        )
    debits, credits = int(sums.get("debit", 0)), int(sums.get("credit", 0))
    return {
        "debits_fen": debits,
        "credits_fen": credits,
        "balanced": debits == credits and all(a["balance_fen"] == a["stored_balance_fen"] for a in accounts),
        "accounts": accounts,
    }


def period_totals(session: Session, first: date | None, last: date | None) -> dict[str, int]:
    """Money into the pools (contributions net of reversals) and out of them (payments),
    posted between the days ``first`` and ``last`` inclusive, in fen."""
    low, high = day_bounds(first, last)

    def total(kind: str) -> int:
        stmt = select(func.coalesce(func.sum(Transfer.amount_fen), 0)).where(Transfer.kind == kind)
        if low:
            stmt = stmt.where(Transfer.posted_at >= low)
        if high:
            stmt = stmt.where(Transfer.posted_at < high)
        return int(session.scalar(stmt) or 0)

    return {
        "fund_in_fen": total("contribution") - total("contribution_reversal"),
        "fund_out_fen": total("disbursement"),
    }
