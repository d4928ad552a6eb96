"""The fund's rules, as plain functions over a unit of work. Inputs arrive validated by
:mod:`services.fund.schemas` (amounts already integer fen); ``caller`` is the identity
object-level rules are checked against (:mod:`services.fund.access`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.fund import access, ledger
from services.fund.idempotency import body_hash, remember, replay
from services.fund.models import Account, Approval, Disbursement, Enterprise, ProfitReport, Transfer, utcnow
from services.fund.money import contribution_fen
from services.fund.schemas import APPROVALS_NEEDED
from yilin.db import UnitOfWork
from yilin.errors import Conflict, NotFound
from yilin.identity import Identity
from yilin.paging import paginate

OPEN = ("requested", "approved")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _get(session: Session, model: type, ident: Any, field: str, what: str) -> Any:
    row = session.get(model, str(ident))
    if row is None:
        raise NotFound(f"{what} {ident} does not exist", {field: ["not found"]})
    return row


# -- enterprises --------------------------------------------------------------------
def enterprise_view(e: Enterprise, contributed_fen: int | None = None) -> dict[str, Any]:
    view = {"id": e.id, "code": e.code, "name": e.name, "community_id": e.community_id,
            "owner_organisation_id": e.owner_organisation_id, "organisation_id": e.organisation_id,
            "contribution_rate_bp": e.contribution_rate_bp}
    if contributed_fen is not None:
        view["contributed_fen"] = contributed_fen
    return view


def register_enterprise(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    """Register an enterprise; its community was checked with the registry by the caller."""
    access.register_enterprise(caller)
    session = uow.session
    if session.scalar(select(Enterprise.id).where(Enterprise.code == data["code"])) is not None:
        raise Conflict(f"enterprise code {data['code']} is already taken", {"code": ["already exists"]})
    organisation_id = _str(data.get("organisation_id"))
    if organisation_id and session.scalar(select(Enterprise.id).where(Enterprise.organisation_id == organisation_id)):
        raise Conflict("that organisation is already registered as an enterprise", {"organisation_id": ["already registered"]})
    e = Enterprise(code=data["code"], name=data["name"], community_id=str(data["community_id"]),
                   owner_organisation_id=str(data["owner_organisation_id"]), organisation_id=organisation_id,
                   contribution_rate_bp=data["contribution_rate_bp"])
    session.add(e)
    session.flush()
    uow.emit("enterprise.registered", {"enterprise_id": e.id, "code": e.code, "community_id": e.community_id,
                                       "owner_organisation_id": e.owner_organisation_id,
                                       "organisation_id": e.organisation_id,
                                       "contribution_rate_bp": e.contribution_rate_bp})
    return enterprise_view(e, 0)


def _contributed(session: Session, enterprise_id: str) -> int:
    return -int(session.scalar(select(Account.balance_fen).where(
        Account.code == ledger.enterprise_code(enterprise_id))) or 0)


def get_enterprise(session: Session, enterprise_id: Any) -> dict[str, Any]:
    e = _get(session, Enterprise, enterprise_id, "enterprise_id", "enterprise")
    return enterprise_view(e, _contributed(session, e.id))


def list_enterprises(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Enterprise)
    if query.get("community_id"):
        stmt = stmt.where(Enterprise.community_id == str(query["community_id"]))
    if query.get("owner_organisation_id"):
        stmt = stmt.where(Enterprise.owner_organisation_id == str(query["owner_organisation_id"]))
    return paginate(session, stmt, Enterprise.id, query["limit"], query.get("cursor"),
                    lambda rows: [enterprise_view(e) for e in rows])


# -- profit reports and contributions -----------------------------------------------
def report_view(r: ProfitReport) -> dict[str, Any]:
    return {"id": r.id, "enterprise_id": r.enterprise_id, "community_id": r.community_id,
            "fiscal_year": r.fiscal_year, "version": r.version, "net_profit_fen": r.net_profit_fen,
            "currency": r.currency, "audited": r.audited, "document_ref": r.document_ref, "reason": r.reason,
            "rate_bp": r.rate_bp, "contribution_fen": r.contribution_fen, "adjustment_fen": r.adjustment_fen,
            "transfer_id": r.transfer_id, "created_at": _utc(r.created_at)}


def _latest(session: Session, enterprise_id: str, fiscal_year: int) -> ProfitReport | None:
    return session.scalars(select(ProfitReport).where(ProfitReport.enterprise_id == enterprise_id,
                                                      ProfitReport.fiscal_year == fiscal_year)
                           .order_by(ProfitReport.version.desc()).limit(1)).first()


def _file(uow: UnitOfWork, caller: Identity, enterprise: Enterprise, data: dict[str, Any], key: str,
          previous: ProfitReport | None) -> ProfitReport:
    """Write one report version and post the difference it makes to the contribution."""
    session = uow.session
    rate = previous.rate_bp if previous else enterprise.contribution_rate_bp
    owed = contribution_fen(data["net_profit_fen"], rate)
    adjustment = owed - (previous.contribution_fen if previous else 0)
    report = ProfitReport(
        enterprise_id=enterprise.id, community_id=enterprise.community_id,
        fiscal_year=previous.fiscal_year if previous else data["fiscal_year"],
        version=previous.version + 1 if previous else 1, net_profit_fen=data["net_profit_fen"],
        currency=previous.currency if previous else data["currency"], audited=data["audited"],
        document_ref=data.get("document_ref"), reason=data.get("reason"), rate_bp=rate, contribution_fen=owed,
        adjustment_fen=adjustment, transfer_id=key if adjustment else None, reported_by=caller.subject)
    session.add(report)
    session.flush()
    uow.emit("profit.reported", {"report_id": report.id, "enterprise_id": enterprise.id,
                                 "community_id": enterprise.community_id, "fiscal_year": report.fiscal_year,
                                 "version": report.version, "net_profit_fen": report.net_profit_fen,
                                 "audited": report.audited, "contribution_fen": owed, "adjustment_fen": adjustment})
    if adjustment:
        pool = ledger.pool(session, enterprise.community_id)
        source = ledger.account(session, ledger.enterprise_code(enterprise.id), "enterprise",
                                enterprise.community_id, enterprise_id=enterprise.id)
        if adjustment > 0:
            ledger.post(session, key, "contribution", pool, source, adjustment, enterprise.community_id, report.id)
        else:
            ledger.post(session, key, "contribution_reversal", source, pool, -adjustment, enterprise.community_id,
                        report.id, field="net_profit")
        uow.emit("contribution.recorded", {
            "transfer_id": key, "report_id": report.id, "enterprise_id": enterprise.id,
            "community_id": enterprise.community_id, "fiscal_year": report.fiscal_year, "amount_fen": adjustment,
            "rate_bp": rate, "pool_balance_fen": ledger.pool_balance(session, enterprise.community_id)})
    return report


def report_profit(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    """File the first report of an enterprise's fiscal year and record its contribution."""
    session = uow.session
    key = str(data["transfer_id"])
    digest = body_hash("report_profit", None, data)
    if (first := replay(session, key, digest)) is not None:
        return report_view(session.get(ProfitReport, first["report_id"]))
    enterprise = _get(session, Enterprise, data["enterprise_id"], "enterprise_id", "enterprise")
    access.report_profit(caller, enterprise)
    existing = _latest(session, enterprise.id, data["fiscal_year"])
    if existing is not None:
        raise Conflict(f"fiscal year {data['fiscal_year']} is already reported (version {existing.version}); "
                       f"file an amendment to report {existing.id} instead",
                       {"fiscal_year": ["already reported; amend it"]})
    report = _file(uow, caller, enterprise, data, key, None)
    remember(session, key, "report_profit", digest, {"report_id": report.id})
    return report_view(report)


def amend_profit(uow: UnitOfWork, caller: Identity, report_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    """File a new version of a report; the contribution moves by the difference."""
    session = uow.session
    key = str(data["transfer_id"])
    digest = body_hash("amend_profit", str(report_id), data)
    if (first := replay(session, key, digest)) is not None:
        return report_view(session.get(ProfitReport, first["report_id"]))
    report = _get(session, ProfitReport, report_id, "report_id", "profit report")
    enterprise = session.get(Enterprise, report.enterprise_id)
    access.report_profit(caller, enterprise)
    latest = _latest(session, report.enterprise_id, report.fiscal_year)
    if latest is not None and latest.id != report.id:
        raise Conflict(f"version {latest.version} ({latest.id}) supersedes this report; amend the latest version",
                       {"report_id": ["superseded"]})
    amended = _file(uow, caller, enterprise, data, key, report)
    remember(session, key, "amend_profit", digest, {"report_id": amended.id})
    return report_view(amended)


def get_profit_report(session: Session, caller: Identity, report_id: Any) -> dict[str, Any]:
    report = _get(session, ProfitReport, report_id, "report_id", "profit report")
    access.read_reports(caller, session.get(Enterprise, report.enterprise_id))
    return report_view(report)


def list_profit_reports(session: Session, caller: Identity, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(ProfitReport)
    if query.get("enterprise_id"):
        enterprise = _get(session, Enterprise, query["enterprise_id"], "enterprise_id", "enterprise")
        access.read_reports(caller, enterprise)
        stmt = stmt.where(ProfitReport.enterprise_id == enterprise.id)
    elif caller.role == "enterprise_rep":
        own = select(Enterprise.id).where((Enterprise.id == caller.organisation_id)
                                          | (Enterprise.organisation_id == caller.organisation_id)
                                          | (Enterprise.owner_organisation_id == caller.organisation_id))
        stmt = stmt.where(ProfitReport.enterprise_id.in_(own))
    if query.get("fiscal_year"):
        stmt = stmt.where(ProfitReport.fiscal_year == query["fiscal_year"])
    return paginate(session, stmt, ProfitReport.id, query["limit"], query.get("cursor"),
                    lambda rows: [report_view(r) for r in rows])


# -- disbursements ------------------------------------------------------------------
def disbursement_view(session: Session, d: Disbursement) -> dict[str, Any]:
    approvers = session.scalars(select(Approval.approver).where(Approval.disbursement_id == d.id)
                                .order_by(Approval.created_at, Approval.approver)).all()
    return {"id": d.id, "community_id": d.community_id, "category": d.category, "amount_fen": d.amount_fen,
            "purpose": d.purpose, "ticket_id": d.ticket_id, "requested_by": d.requested_by, "status": d.status,
            "approvals": list(approvers), "approvals_needed": APPROVALS_NEEDED,
            "decision_reason": d.decision_reason, "transfer_id": d.transfer_id, "created_at": _utc(d.created_at),
            "paid_at": _utc(d.paid_at)}


def _locked(session: Session, disbursement_id: Any) -> Disbursement:
    """The request, locked until commit so concurrent approvals and payments queue up."""
    row = session.scalars(select(Disbursement).where(Disbursement.id == str(disbursement_id))
                          .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise NotFound(f"disbursement {disbursement_id} does not exist", {"disbursement_id": ["not found"]})
    return row


def _require_open(d: Disbursement, action: str) -> None:
    if d.status not in OPEN:
        raise Conflict(f"cannot {action} a request that is {d.status}", {"status": [d.status]})


def request_disbursement(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    access.request_disbursement(caller)
    d = Disbursement(community_id=str(data["community_id"]), category=data["category"], amount_fen=data["amount_fen"],
                     purpose=data["purpose"], ticket_id=_str(data.get("ticket_id")), requested_by=caller.subject,
                     status="requested")
    uow.session.add(d)
    uow.session.flush()
    uow.emit("disbursement.requested", {"disbursement_id": d.id, "community_id": d.community_id,
                                        "category": d.category, "amount_fen": d.amount_fen, "ticket_id": d.ticket_id})
    return disbursement_view(uow.session, d)


def approve_disbursement(uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Record one committee member's approval; the second distinct one approves the request."""
    session = uow.session
    d = _locked(session, disbursement_id)
    who = access.approver(caller, d, data.get("member"))
    if session.get(Approval, (d.id, who)) is not None:
        raise Conflict(f"{who} has already approved this request; a different member must give the second approval",
                       {"approver": ["already approved"]})
    if d.status != "requested":
        raise Conflict(f"cannot approve a request that is {d.status}", {"status": [d.status]})
    session.add(Approval(disbursement_id=d.id, approver=who, recorded_by=caller.subject))
    session.flush()
    count = session.scalar(select(func.count()).select_from(Approval).where(Approval.disbursement_id == d.id)) or 0
    if count >= APPROVALS_NEEDED:
        d.status, d.decided_at = "approved", utcnow()
    session.flush()
    uow.emit("disbursement.approved", {"disbursement_id": d.id, "community_id": d.community_id, "approvals": count,
                                       "approvals_needed": APPROVALS_NEEDED, "status": d.status})
    return disbursement_view(session, d)


def reject_disbursement(uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    access.decide(caller, "reject disbursements")
    d = _locked(uow.session, disbursement_id)
    _require_open(d, "reject")
    d.status, d.decided_by, d.decision_reason, d.decided_at = "rejected", caller.subject, data["reason"], utcnow()
    uow.session.flush()
    uow.emit("disbursement.rejected", {"disbursement_id": d.id, "community_id": d.community_id,
                                       "amount_fen": d.amount_fen})
    return disbursement_view(uow.session, d)


def cancel_disbursement(uow: UnitOfWork, caller: Identity, disbursement_id: Any, data: dict[str, Any]) -> dict[str, Any]:
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
        raise Conflict(f"the request needs {APPROVALS_NEEDED} approvals before it can be paid (it has {count})",
                       {"status": [f"requested, {count} of {APPROVALS_NEEDED} approvals"]})
    if d.status != "approved":
        raise Conflict(f"cannot pay a request that is {d.status}", {"status": [d.status]})
    access.payer(caller, d, session.scalars(select(Approval.approver).where(Approval.disbursement_id == d.id)))
    pool = ledger.pool(session, d.community_id)
    expense = ledger.account(session, ledger.expense_code(d.community_id, d.category), "expense", d.community_id,
                             category=d.category)
    ledger.post(session, key, "disbursement", expense, pool, d.amount_fen, d.community_id, d.id)
    d.status, d.transfer_id, d.paid_at = "paid", key, utcnow()
    session.flush()
    uow.emit("disbursement.paid", {"disbursement_id": d.id, "community_id": d.community_id, "category": d.category,
                                   "amount_fen": d.amount_fen, "transfer_id": key,
                                   "pool_balance_fen": ledger.pool_balance(session, d.community_id)})
    remember(session, key, "pay_disbursement", digest, {"disbursement_id": d.id})
    return disbursement_view(session, d)


def get_disbursement(session: Session, disbursement_id: Any) -> dict[str, Any]:
    return disbursement_view(session, _get(session, Disbursement, disbursement_id, "disbursement_id", "disbursement"))


def list_disbursements(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Disbursement)
    for name in ("community_id", "status", "category"):
        if query.get(name):
            stmt = stmt.where(getattr(Disbursement, name) == str(query[name]))
    return paginate(session, stmt, Disbursement.id, query["limit"], query.get("cursor"),
                    lambda rows: [disbursement_view(session, d) for d in rows])


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
        return [{"id": t.id, "kind": t.kind, "debit_account": codes[t.debit_account_id],
                 "credit_account": codes[t.credit_account_id], "amount_fen": t.amount_fen,
                 "community_id": t.community_id, "reference_id": t.reference_id, "posted_at": _utc(t.posted_at)}
                for t in rows]

    return paginate(session, stmt, Transfer.id, query["limit"], query.get("cursor"), render)


def gauges(session: Session) -> tuple[int, int]:
    """Requests awaiting a decision or payment, and the sum of every pool's balance."""
    pending = session.scalar(select(func.count()).select_from(Disbursement).where(Disbursement.status.in_(OPEN)))
    pools = session.scalar(select(func.coalesce(func.sum(Account.balance_fen), 0)).where(Account.kind == "pool"))
    return int(pending or 0), int(pools or 0)
