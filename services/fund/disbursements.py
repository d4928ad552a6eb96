"""Disbursements from a community pool: requested, approved by the committee (two
approvals), paid through the ledger, or rejected or cancelled; and the ledger's reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.fund import access, ledger
from services.fund.idempotency import body_hash, remember, replay
from services.fund.models import Disbursement, utcnow
from services.fund.rules import as_text, as_utc
from services.fund.schemas import APPROVALS_NEEDED
from services.fund.store import FundStore
from yilin.db import UnitOfWork
from yilin.errors import Conflict
from yilin.identity import Identity

OPEN = ("requested", "approved")  # a disbursement still waiting for a decision or a payment


# -- disbursements ------------------------------------------------------------------
def disbursement_view(store: FundStore, d: Disbursement) -> dict[str, Any]:
    return {
        "id": d.id,
        "community_id": d.community_id,
        "category": d.category,
        "amount_fen": d.amount_fen,
        "purpose": d.purpose,
        "ticket_id": d.ticket_id,
        "suggestion_id": d.suggestion_id,
        "requested_by": d.requested_by,
        "status": d.status,
        "approvals": store.approvers(d.id),
        "approvals_needed": APPROVALS_NEEDED,
        "decision_reason": d.decision_reason,
        "transfer_id": d.transfer_id,
        "created_at": as_utc(d.created_at),
        "paid_at": as_utc(d.paid_at),
    }


def _require_open(d: Disbursement, action: str) -> None:
    if d.status not in OPEN:
        raise Conflict(f"cannot {action} a request that is {d.status}", {"status": [d.status]})


def request_disbursement(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    access.request_disbursement(caller)
    store = FundStore(uow.session)
    d = store.add_disbursement(
        community_id=str(data["community_id"]),
        category=data["category"],
        amount_fen=data["amount_fen"],
        purpose=data["purpose"],
        ticket_id=as_text(data.get("ticket_id")),
        suggestion_id=as_text(data.get("suggestion_id")),
        requested_by=caller.subject,
        status="requested",
    )
    uow.emit(
        "disbursement.requested",
        {
            "disbursement_id": d.id,
            "community_id": d.community_id,
            "category": d.category,
            "amount_fen": d.amount_fen,
            "ticket_id": d.ticket_id,
            "suggestion_id": d.suggestion_id,
        },
    )
    return disbursement_view(store, d)


def approve_disbursement(
    uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]
) -> dict[str, Any]:
    """Record one committee member's approval; the second distinct one approves the request."""
    store = FundStore(uow.session)
    d = store.lock_disbursement(disbursement_id)
    who = access.approver(caller, d, data.get("member"))
    if store.has_approved(d.id, who):
        raise Conflict(
            f"{who} has already approved this request; a different member must give the second approval",
            {"approver": ["already approved"]},
        )
    if d.status != "requested":
        raise Conflict(f"cannot approve a request that is {d.status}", {"status": [d.status]})
    store.add_approval(d.id, who, caller.subject)
    count = store.approval_count(d.id)
    if count >= APPROVALS_NEEDED:
        d.status, d.decided_at = "approved", utcnow()
    store.flush()
    uow.emit(
        "disbursement.approved",
        {
            "disbursement_id": d.id,
            "community_id": d.community_id,
            "approvals": count,
            "approvals_needed": APPROVALS_NEEDED,
            "status": d.status,
        },
    )
    return disbursement_view(store, d)


def reject_disbursement(
    uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]
) -> dict[str, Any]:
    access.decide(caller, "reject disbursements")
    store = FundStore(uow.session)
    d = store.lock_disbursement(disbursement_id)
    _require_open(d, "reject")
    d.status, d.decided_by, d.decision_reason, d.decided_at = "rejected", caller.subject, data["reason"], utcnow()
    store.flush()
    uow.emit(
        "disbursement.rejected", {"disbursement_id": d.id, "community_id": d.community_id, "amount_fen": d.amount_fen}
    )
    return disbursement_view(store, d)


def cancel_disbursement(
    uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]
) -> dict[str, Any]:
    store = FundStore(uow.session)
    d = store.lock_disbursement(disbursement_id)
    access.cancel(caller, d)
    _require_open(d, "cancel")
    d.status, d.decided_by, d.decision_reason, d.decided_at = "cancelled", caller.subject, data["reason"], utcnow()
    store.flush()
    uow.note("disbursement.cancelled", {"disbursement_id": d.id})  # publishes no event: the audit row says it
    return disbursement_view(store, d)


def pay_disbursement(uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Pay an approved request from its community's pool; never overdraws the pool."""
    store = FundStore(uow.session)
    key = str(data["transfer_id"])
    access.payer_role(caller)  # the role first; the people once the request is locked
    digest = body_hash("pay_disbursement", str(disbursement_id), data)
    if (first := replay(store, key, digest)) is not None:
        return disbursement_view(store, store.paid_disbursement(first["disbursement_id"]))
    d = store.lock_disbursement(disbursement_id)
    if d.status == "requested":
        count = store.approval_count(d.id)
        raise Conflict(
            f"the request needs {APPROVALS_NEEDED} approvals before it can be paid (it has {count})",
            {"status": [f"requested, {count} of {APPROVALS_NEEDED} approvals"]},
        )
    if d.status != "approved":
        raise Conflict(f"cannot pay a request that is {d.status}", {"status": [d.status]})
    access.payer(caller, d, store.approvers(d.id))
    pool = ledger.pool(store, d.community_id)
    expense = store.open_account(
        ledger.expense_code(d.community_id, d.category), "expense", d.community_id, category=d.category
    )
    ledger.post(store, key, "disbursement", expense, pool, d.amount_fen, d.community_id, d.id)
    d.status, d.transfer_id, d.paid_at = "paid", key, utcnow()
    store.flush()
    uow.emit(
        "disbursement.paid",
        {
            "disbursement_id": d.id,
            "community_id": d.community_id,
            "category": d.category,
            "amount_fen": d.amount_fen,
            "transfer_id": key,
            "pool_balance_fen": ledger.pool_balance(store, d.community_id),
        },
    )
    remember(store, key, "pay_disbursement", digest, {"disbursement_id": d.id})
    return disbursement_view(store, d)


def get_disbursement(session: Session, disbursement_id: Any) -> dict[str, Any]:
    store = FundStore(session)
    return disbursement_view(store, store.disbursement(disbursement_id))


def list_disbursements(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = FundStore(session)
    return store.list_disbursements(query, lambda rows: [disbursement_view(store, d) for d in rows])


# -- ledger reads -------------------------------------------------------------------
def get_pool(session: Session, community_id: Any) -> dict[str, Any]:
    return {
        "community_id": str(community_id),
        "balance_fen": ledger.pool_balance(FundStore(session), str(community_id)),
    }


def list_transfers(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = FundStore(session)

    def render(rows: Any) -> list[dict[str, Any]]:
        codes = store.account_codes({t.debit_account_id for t in rows} | {t.credit_account_id for t in rows})
        return [
            {
                "id": t.id,
                "kind": t.kind,
                "debit_account": codes[t.debit_account_id],
                "credit_account": codes[t.credit_account_id],
                "amount_fen": t.amount_fen,
                "community_id": t.community_id,
                "reference_id": t.reference_id,
                "posted_at": as_utc(t.posted_at),
            }
            for t in rows
        ]

    return store.list_transfers(query, render)


def gauges(session: Session) -> tuple[int, int]:
    """Requests awaiting a decision or payment, and the sum of every pool's balance."""
    store = FundStore(session)
    return store.count_disbursements(OPEN), store.pools_total()
