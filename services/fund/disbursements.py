"""Disbursements from a community pool: requested, approved by the committee (two
approvals), paid through the ledger, or rejected or cancelled; and the ledger's reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.fund import access, ledger
from services.fund.idempotency import body_hash, remember, replay
from services.fund.models import Account, Approval, Disbursement, Transfer, utcnow
from services.fund.rules import as_text, as_utc
from services.fund.schemas import APPROVALS_NEEDED
from yilin.db import UnitOfWork
from yilin.errors import Conflict, NotFound
from yilin.identity import Identity
from yilin.paging import paginate
from yilin.rows import get_or_404

OPEN = ("requested", "approved")  # a disbursement still waiting for a decision or a payment


# -- disbursements ------------------------------------------------------------------
def disbursement_view(session: Session, d: Disbursement) -> dict[str, Any]:
    approvers = session.scalars(
        select(Approval.approver)
        .where(Approval.disbursement_id == d.id)
        .order_by(Approval.created_at, Approval.approver)
    ).all()
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
        "approvals": list(approvers),
        "approvals_needed": APPROVALS_NEEDED,
        "decision_reason": d.decision_reason,
        "transfer_id": d.transfer_id,
        "created_at": as_utc(d.created_at),
        "paid_at": as_utc(d.paid_at),
    }


def _locked(session: Session, disbursement_id: Any) -> Disbursement:
    """The request, locked until commit so concurrent approvals and payments queue up."""
    row = session.scalars(
        select(Disbursement)
        .where(Disbursement.id == str(disbursement_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        raise NotFound(f"disbursement {disbursement_id} does not exist", {"disbursement_id": ["not found"]})
    return row


def _require_open(d: Disbursement, action: str) -> None:
    if d.status not in OPEN:
        raise Conflict(f"cannot {action} a request that is {d.status}", {"status": [d.status]})


def request_disbursement(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    access.request_disbursement(caller)
    d = Disbursement(
        community_id=str(data["community_id"]),
        category=data["category"],
        amount_fen=data["amount_fen"],
        purpose=data["purpose"],
        ticket_id=as_text(data.get("ticket_id")),
        suggestion_id=as_text(data.get("suggestion_id")),
        requested_by=caller.subject,
        status="requested",
    )
    uow.session.add(d)
    uow.session.flush()
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
    return disbursement_view(uow.session, d)


def approve_disbursement(
    uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]
) -> dict[str, Any]:
    """Record one committee member's approval; the second distinct one approves the request."""
    session = uow.session
    d = _locked(session, disbursement_id)
    who = access.approver(caller, d, data.get("member"))
    if session.get(Approval, (d.id, who)) is not None:
        raise Conflict(
            f"{who} has already approved this request; a different member must give the second approval",
            {"approver": ["already approved"]},
        )
    if d.status != "requested":
        raise Conflict(f"cannot approve a request that is {d.status}", {"status": [d.status]})
    session.add(Approval(disbursement_id=d.id, approver=who, recorded_by=caller.subject))
    session.flush()
    count = session.scalar(select(func.count()).select_from(Approval).where(Approval.disbursement_id == d.id)) or 0
    if count >= APPROVALS_NEEDED:
        d.status, d.decided_at = "approved", utcnow()
    session.flush()
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
    return disbursement_view(session, d)


def reject_disbursement(
    uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]
) -> dict[str, Any]:
    access.decide(caller, "reject disbursements")
    d = _locked(uow.session, disbursement_id)
    _require_open(d, "reject")
    d.status, d.decided_by, d.decision_reason, d.decided_at = "rejected", caller.subject, data["reason"], utcnow()
    uow.session.flush()
    uow.emit(
        "disbursement.rejected", {"disbursement_id": d.id, "community_id": d.community_id, "amount_fen": d.amount_fen}
    )
    return disbursement_view(uow.session, d)


def cancel_disbursement(
    uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]
) -> dict[str, Any]:
    d = _locked(uow.session, disbursement_id)
    access.cancel(caller, d)
    _require_open(d, "cancel")
    d.status, d.decided_by, d.decision_reason, d.decided_at = "cancelled", caller.subject, data["reason"], utcnow()
    uow.session.flush()
    uow.note("disbursement.cancelled", {"disbursement_id": d.id})  # publishes no event: the audit row says it
    return disbursement_view(uow.session, d)


def pay_disbursement(uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Pay an approved request from its community's pool; never overdraws the pool."""
    session = uow.session
    key = str(data["transfer_id"])
    access.payer_role(caller)  # the role first; the people once the request is locked
    digest = body_hash("pay_disbursement", str(disbursement_id), data)
    if (first := replay(session, key, digest)) is not None:
        return disbursement_view(session, session.get(Disbursement, first["disbursement_id"]))
    d = _locked(session, disbursement_id)
    if d.status == "requested":
        count = session.scalar(select(func.count()).select_from(Approval).where(Approval.disbursement_id == d.id))
        raise Conflict(
            f"the request needs {APPROVALS_NEEDED} approvals before it can be paid (it has {count})",
            {"status": [f"requested, {count} of {APPROVALS_NEEDED} approvals"]},
        )
    if d.status != "approved":
        raise Conflict(f"cannot pay a request that is {d.status}", {"status": [d.status]})
    access.payer(caller, d, session.scalars(select(Approval.approver).where(Approval.disbursement_id == d.id)))
    pool = ledger.pool(session, d.community_id)
    expense = ledger.account(
        session, ledger.expense_code(d.community_id, d.category), "expense", d.community_id, category=d.category
    )
    ledger.post(session, key, "disbursement", expense, pool, d.amount_fen, d.community_id, d.id)
    d.status, d.transfer_id, d.paid_at = "paid", key, utcnow()
    session.flush()
    uow.emit(
        "disbursement.paid",
        {
            "disbursement_id": d.id,
            "community_id": d.community_id,
            "category": d.category,
            "amount_fen": d.amount_fen,
            "transfer_id": key,
            "pool_balance_fen": ledger.pool_balance(session, d.community_id),
        },
    )
    remember(session, key, "pay_disbursement", digest, {"disbursement_id": d.id})
    return disbursement_view(session, d)


def get_disbursement(session: Session, disbursement_id: Any) -> dict[str, Any]:
    return disbursement_view(
        session, get_or_404(session, Disbursement, disbursement_id, "disbursement_id", "disbursement")
    )


def list_disbursements(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Disbursement)
    for name in ("community_id", "status", "category"):
        if query.get(name):
            stmt = stmt.where(getattr(Disbursement, name) == str(query[name]))
    return paginate(
        session,
        stmt,
        Disbursement.id,
        query["limit"],
        query.get("cursor"),
        lambda rows: [disbursement_view(session, d) for d in rows],
    )


# -- ledger reads -------------------------------------------------------------------
def get_pool(session: Session, community_id: Any) -> dict[str, Any]:
    return {"community_id": str(community_id), "balance_fen": ledger.pool_balance(session, str(community_id))}


def list_transfers(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Transfer)
    if query.get("community_id"):
        stmt = stmt.where(Transfer.community_id == str(query["community_id"]))

    def render(rows: Any) -> list[dict[str, Any]]:
        ids = {t.debit_account_id for t in rows} | {t.credit_account_id for t in rows}
        codes = dict(session.execute(select(Account.id, Account.code).where(Account.id.in_(ids))).all()) if ids else {}
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

    return paginate(session, stmt, Transfer.id, query["limit"], query.get("cursor"), render)


def gauges(session: Session) -> tuple[int, int]:
    """Requests awaiting a decision or payment, and the sum of every pool's balance."""
    pending = session.scalar(select(func.count()).select_from(Disbursement).where(Disbursement.status.in_(OPEN)))
    pools = session.scalar(select(func.coalesce(func.sum(Account.balance_fen), 0)).where(Account.kind == "pool"))
    return int(pending or 0), int(pools or 0)
