"""The fund's operations on enterprises and profit reports, over a unit of work: each
loads through :class:`~services.fund.store.FundStore`, asks the rules, writes through
the store and emits its events. Inputs arrive validated by :mod:`services.fund.schemas`
(amounts already integer fen); ``caller`` is the identity object-level rules are checked
against (:mod:`services.fund.access`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.fund import access, ledger
from services.fund.idempotency import body_hash, remember, replay
from services.fund.models import Enterprise, ProfitReport
from services.fund.rules import as_text, as_utc, contribution_fen
from services.fund.store import FundStore
from yilin.db import UnitOfWork
from yilin.errors import Conflict
from yilin.identity import Identity


# -- enterprises --------------------------------------------------------------------
def enterprise_view(e: Enterprise, contributed_fen: int | None = None) -> dict[str, Any]:
    view = {
        "id": e.id,
        "code": e.code,
        "name": e.name,
        "community_id": e.community_id,
        "owner_organisation_id": e.owner_organisation_id,
        "organisation_id": e.organisation_id,
        "contribution_rate_bp": e.contribution_rate_bp,
    }
    if contributed_fen is not None:
        view["contributed_fen"] = contributed_fen
    return view


def register_enterprise(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    """Register an enterprise; its community was checked with the registry by the caller."""
    access.register_enterprise(caller)
    store = FundStore(uow.session)
    if store.enterprise_code_taken(data["code"]):
        raise Conflict(f"enterprise code {data['code']} is already taken", {"code": ["already exists"]})
    organisation_id = as_text(data.get("organisation_id"))
    if organisation_id and store.organisation_registered(organisation_id):
        raise Conflict(
            "that organisation is already registered as an enterprise", {"organisation_id": ["already registered"]}
        )
    e = store.add_enterprise(
        code=data["code"],
        name=data["name"],
        community_id=str(data["community_id"]),
        owner_organisation_id=str(data["owner_organisation_id"]),
        organisation_id=organisation_id,
        contribution_rate_bp=data["contribution_rate_bp"],
    )
    uow.emit(
        "enterprise.registered",
        {
            "enterprise_id": e.id,
            "code": e.code,
            "community_id": e.community_id,
            "owner_organisation_id": e.owner_organisation_id,
            "organisation_id": e.organisation_id,
            "contribution_rate_bp": e.contribution_rate_bp,
        },
    )
    return enterprise_view(e, 0)


def get_enterprise(session: Session, enterprise_id: Any) -> dict[str, Any]:
    store = FundStore(session)
    e = store.enterprise(enterprise_id)
    # the enterprise's account is credited with what it gives: its balance is minus that
    return enterprise_view(e, -store.balance(ledger.enterprise_code(e.id)))


def list_enterprises(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    return FundStore(session).list_enterprises(query, lambda rows: [enterprise_view(e) for e in rows])


# -- profit reports and contributions -----------------------------------------------
def report_view(r: ProfitReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "enterprise_id": r.enterprise_id,
        "community_id": r.community_id,
        "fiscal_year": r.fiscal_year,
        "version": r.version,
        "net_profit_fen": r.net_profit_fen,
        "currency": r.currency,
        "audited": r.audited,
        "document_ref": r.document_ref,
        "reason": r.reason,
        "rate_bp": r.rate_bp,
        "contribution_fen": r.contribution_fen,
        "adjustment_fen": r.adjustment_fen,
        "transfer_id": r.transfer_id,
        "created_at": as_utc(r.created_at),
    }


def _file(
    uow: UnitOfWork,
    store: FundStore,
    caller: Identity,
    enterprise: Enterprise,
    data: dict[str, Any],
    key: str,
    previous: ProfitReport | None,
) -> ProfitReport:
    """Write one report version and post the difference it makes to the contribution."""
    rate = previous.rate_bp if previous else enterprise.contribution_rate_bp
    owed = contribution_fen(data["net_profit_fen"], rate)
    adjustment = owed - (previous.contribution_fen if previous else 0)
    report = store.add_report(
        enterprise_id=enterprise.id,
        community_id=enterprise.community_id,
        fiscal_year=previous.fiscal_year if previous else data["fiscal_year"],
        version=previous.version + 1 if previous else 1,
        net_profit_fen=data["net_profit_fen"],
        currency=previous.currency if previous else data["currency"],
        audited=data["audited"],
        document_ref=data.get("document_ref"),
        reason=data.get("reason"),
        rate_bp=rate,
        contribution_fen=owed,
        adjustment_fen=adjustment,
        transfer_id=key if adjustment else None,
        reported_by=caller.subject,
    )
    uow.emit(
        "profit.reported",
        {
            "report_id": report.id,
            "enterprise_id": enterprise.id,
            "community_id": enterprise.community_id,
            "fiscal_year": report.fiscal_year,
            "version": report.version,
            "net_profit_fen": report.net_profit_fen,
            "audited": report.audited,
            "contribution_fen": owed,
            "adjustment_fen": adjustment,
        },
    )
    if adjustment:
        pool = ledger.pool(store, enterprise.community_id)
        source = store.open_account(
            ledger.enterprise_code(enterprise.id),
            "enterprise",
            enterprise.community_id,
            enterprise_id=enterprise.id,
        )
        if adjustment > 0:
            ledger.post(store, key, "contribution", pool, source, adjustment, enterprise.community_id, report.id)
        else:
            ledger.post(
                store,
                key,
                "contribution_reversal",
                source,
                pool,
                -adjustment,
                enterprise.community_id,
                report.id,
                field="net_profit",
            )
        uow.emit(
            "contribution.recorded",
            {
                "transfer_id": key,
                "report_id": report.id,
                "enterprise_id": enterprise.id,
                "community_id": enterprise.community_id,
                "fiscal_year": report.fiscal_year,
                "amount_fen": adjustment,
                "rate_bp": rate,
                "pool_balance_fen": ledger.pool_balance(store, enterprise.community_id),
            },
        )
    return report


def report_profit(uow: UnitOfWork, caller: Identity, data: dict[str, Any]) -> dict[str, Any]:
    """File the first report of an enterprise's fiscal year and record its contribution."""
    store = FundStore(uow.session)
    key = str(data["transfer_id"])
    digest = body_hash("report_profit", None, data)
    if (first := replay(store, key, digest)) is not None:
        return report_view(store.filed_report(first["report_id"]))
    enterprise = store.enterprise(data["enterprise_id"])
    access.report_profit(caller, enterprise)
    existing = store.latest_report(enterprise.id, data["fiscal_year"])
    if existing is not None:
        raise Conflict(
            f"fiscal year {data['fiscal_year']} is already reported (version {existing.version}); "
            f"file an amendment to report {existing.id} instead",
            {"fiscal_year": ["already reported; amend it"]},
        )
    report = _file(uow, store, caller, enterprise, data, key, None)
    remember(store, key, "report_profit", digest, {"report_id": report.id})
    return report_view(report)


def amend_profit(uow: UnitOfWork, caller: Identity, report_id: Any, data: dict[str, Any]) -> dict[str, Any]:
    """File a new version of a report; the contribution moves by the difference."""
    store = FundStore(uow.session)
    key = str(data["transfer_id"])
    digest = body_hash("amend_profit", str(report_id), data)
    if (first := replay(store, key, digest)) is not None:
        return report_view(store.filed_report(first["report_id"]))
    report = store.report(report_id)
    enterprise = store.enterprise_of(report)
    access.report_profit(caller, enterprise)
    latest = store.latest_report(report.enterprise_id, report.fiscal_year)
    if latest is not None and latest.id != report.id:
        raise Conflict(
            f"version {latest.version} ({latest.id}) supersedes this report; amend the latest version",
            {"report_id": ["superseded"]},
        )
    amended = _file(uow, store, caller, enterprise, data, key, report)
    remember(store, key, "amend_profit", digest, {"report_id": amended.id})
    return report_view(amended)


def get_profit_report(session: Session, caller: Identity, report_id: Any) -> dict[str, Any]:
    store = FundStore(session)
    report = store.report(report_id)
    access.read_reports(caller, store.enterprise_of(report))
    return report_view(report)


def list_profit_reports(session: Session, caller: Identity, query: dict[str, Any]) -> dict[str, Any]:
    store = FundStore(session)

    def render(rows: Any) -> list[dict[str, Any]]:
        return [report_view(r) for r in rows]

    if query.get("enterprise_id"):
        enterprise = store.enterprise(query["enterprise_id"])
        access.read_reports(caller, enterprise)
        return store.list_reports(query, render, enterprise_id=enterprise.id)
    return store.list_reports(query, render, represented_by=caller if caller.role == "enterprise_rep" else None)
