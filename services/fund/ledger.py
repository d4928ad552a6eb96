"""The double-entry fund ledger. Every transfer writes one debit and one credit entry of
the same amount, so debits equal credits at all times; rows are only ever added.
``accounts.balance_fen`` (debits − credits) is kept in the same transaction under a row
lock, which is what stops two payments from overdrawing a pool together. The statements
are :class:`~services.fund.store.FundStore`'s; the rules of a posting are here."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from services.fund.models import Account, Transfer
from services.fund.rules import overdraws, yuan
from services.fund.store import FundStore
from services.indicators import day_bounds
from yilin.errors import Conflict


def pool_code(community_id: str) -> str:
    return f"pool:{community_id}"


def enterprise_code(enterprise_id: str) -> str:
    return f"enterprise:{enterprise_id}"


def expense_code(community_id: str, category: str) -> str:
    return f"expense:{community_id}:{category}"


def pool(store: FundStore, community_id: str) -> Account:
    """The community's pool, opened on first use."""
    return store.open_account(pool_code(community_id), "pool", community_id)


def pool_balance(store: FundStore, community_id: str) -> int:
    return store.balance(pool_code(community_id))


def post(
    store: FundStore,
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
    if store.transfer_exists(transfer_id):
        raise Conflict("this transfer id was already used", {"transfer_id": ["already used"]})
    source = store.lock_accounts([debit.id, credit.id])[credit.id]
    if overdraws(source.kind, source.balance_fen, amount_fen):
        raise Conflict(
            f"the pool holds ¥{yuan(source.balance_fen)}, less than the ¥{yuan(amount_fen)} asked for",
            {field: [f"exceeds the pool balance of {source.balance_fen} fen"]},
        )
    return store.write_transfer(transfer_id, kind, debit, credit, amount_fen, community_id, reference_id)


def trial_balance(session: Session) -> dict[str, Any]:
    """Debits, credits and every account's balance, each recomputed from the entries."""
    store = FundStore(session)
    sums = store.side_totals()
    per_account: dict[str, int] = {}
    for account_id, side, amount in store.account_side_totals():
        per_account[account_id] = per_account.get(account_id, 0) + (amount if side == "debit" else -amount)
    accounts = []
    for row in store.accounts():
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
    store = FundStore(session)

    def total(kind: str) -> int:
        return store.transfers_total(kind, low, high)

    return {
        "fund_in_fen": total("contribution") - total("contribution_reversal"),
        "fund_out_fen": total("disbursement"),
    }
