"""Fund service entrypoints: parse, authorise, call the domain, return.

The community of an enterprise or a disbursement must be a real community: it is checked
with the registry (``get_place``, level ``community``) before anything is written."""

from __future__ import annotations

from typing import Any, Callable

from nameko.timer import timer

from services import METRICS_PORTS
from services.fund import business_metrics, disbursements, domain, ledger, transparency
from services.fund.events import EVENTS
from services.fund.models import Base
from services.fund.schemas import (
    AmendmentIn,
    ApprovalIn,
    DecisionIn,
    DisbursementIn,
    DisbursementOut,
    DisbursementQuery,
    EnterpriseIn,
    EnterpriseOut,
    EnterpriseQuery,
    PaymentIn,
    PoolOut,
    ProfitReportIn,
    ProfitReportOut,
    ProfitReportQuery,
    TransferOut,
    TransferQuery,
    TransparencyOut,
    TransparencyQuery,
    TrialBalanceOut,
)
from services.indicators import PeriodQuery
from services.registry.lookups import require_community
from services.registry.schemas import PARTNER_KINDS
from services.roles import AUDIT_READERS
from yilin.audit import AuditLogRpc
from yilin.db import Database
from yilin.errors import Conflict, InvalidInput, NotFound, load
from yilin.httpreads import read_rpc
from yilin.identity import Caller
from yilin.metrics import Instrumentation
from yilin.paging import page_schema
from yilin.rpc import RpcProxy, rpc, write_rpc
from yilin.tracing import Tracing

ENTERPRISE, ENTERPRISES = EnterpriseOut(), page_schema(EnterpriseOut)()
REPORT, REPORTS = ProfitReportOut(), page_schema(ProfitReportOut)()
DISBURSEMENT, DISBURSEMENTS = DisbursementOut(), page_schema(DisbursementOut)()
POOL, TRANSFERS, TRIAL_BALANCE = PoolOut(), page_schema(TransferOut)(), TrialBalanceOut()
TRANSPARENCY = TransparencyOut()


class FundService(AuditLogRpc):
    name = "fund"
    metrics_port = METRICS_PORTS["fund"]
    audit_readers = AUDIT_READERS

    db = Database(Base.metadata, EVENTS)
    caller = Caller()
    metrics = Instrumentation()
    traces = Tracing()  # one span per worker when OTLP_ENDPOINT is set (yilin.tracing)
    registry = RpcProxy("registry")
    tickets = RpcProxy("tickets")  # a request answering a suggestion names one that exists

    @rpc
    def ping(self) -> str:
        return "pong"

    # enterprises
    @write_rpc
    def register_enterprise(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(EnterpriseIn(), payload)
        require_community(self.registry, str(data["community_id"]))
        self._require_organisation(str(data["owner_organisation_id"]), "owner_organisation_id")
        if data.get("organisation_id"):  # the enterprise is that registry organisation: one identity
            kind = self._require_organisation(str(data["organisation_id"]), "organisation_id")["kind"]
            if kind not in PARTNER_KINDS:
                raise InvalidInput(
                    "organisation_id must be an enterprise or partner organisation",
                    {"organisation_id": [f"is a {kind}, not one of {', '.join(PARTNER_KINDS)}"]},
                )
        with self.db.transaction() as uow:
            return ENTERPRISE.dump(domain.register_enterprise(uow, self.caller, data))

    @read_rpc
    def get_enterprise(self, enterprise_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return ENTERPRISE.dump(domain.get_enterprise(session, enterprise_id))

    @read_rpc
    def list_enterprises(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(EnterpriseQuery(), query)
        with self.db.read() as session:
            return ENTERPRISES.dump(domain.list_enterprises(session, q))

    # profit reports
    @write_rpc
    def report_profit(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ProfitReportIn(), payload)
        return REPORT.dump(self._idempotent(lambda uow: domain.report_profit(uow, self.caller, data)))

    @write_rpc
    def amend_profit(self, report_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(AmendmentIn(), payload)
        return REPORT.dump(self._idempotent(lambda uow: domain.amend_profit(uow, self.caller, report_id, data)))

    @read_rpc
    def get_profit_report(self, report_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return REPORT.dump(domain.get_profit_report(session, self.caller, report_id))

    @read_rpc
    def list_profit_reports(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(ProfitReportQuery(), query)
        with self.db.read() as session:
            return REPORTS.dump(domain.list_profit_reports(session, self.caller, q))

    # disbursements
    @write_rpc
    def request_disbursement(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(DisbursementIn(), payload)
        require_community(self.registry, str(data["community_id"]))
        if data.get("suggestion_id"):
            self._require_suggestion(str(data["suggestion_id"]), str(data["community_id"]))
        return DISBURSEMENT.dump(self._change(lambda uow: disbursements.request_disbursement(uow, self.caller, data)))

    def _require_suggestion(self, suggestion_id: str, community_id: str) -> None:
        try:
            suggestion = self.tickets.get_suggestion(suggestion_id)
        except NotFound:
            raise NotFound(f"suggestion {suggestion_id} does not exist", {"suggestion_id": ["not found"]}) from None
        if suggestion["community_id"] != community_id:
            raise InvalidInput("the suggestion is another community's", {"suggestion_id": ["another community's"]})

    @rpc
    def indicator_counts(self, query: dict[str, Any]) -> dict[str, int]:
        """The fund's part of the district indicators: money in and out in a period of
        days (aggregates only: any verified caller)."""
        q = load(PeriodQuery(), query)
        with self.db.read() as session:
            return ledger.period_totals(session, q.get("from_"), q.get("to"))

    @write_rpc
    def approve_disbursement(self, disbursement_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ApprovalIn(), payload)
        return DISBURSEMENT.dump(
            self._change(lambda uow: disbursements.approve_disbursement(uow, self.caller, disbursement_id, data))
        )

    @write_rpc
    def reject_disbursement(self, disbursement_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(DecisionIn(), payload)
        return DISBURSEMENT.dump(
            self._change(lambda uow: disbursements.reject_disbursement(uow, self.caller, disbursement_id, data))
        )

    @write_rpc
    def cancel_disbursement(self, disbursement_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(DecisionIn(), payload)
        return DISBURSEMENT.dump(
            self._change(lambda uow: disbursements.cancel_disbursement(uow, self.caller, disbursement_id, data))
        )

    @write_rpc
    def pay_disbursement(self, disbursement_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(PaymentIn(), payload)
        return DISBURSEMENT.dump(
            self._idempotent(lambda uow: disbursements.pay_disbursement(uow, self.caller, disbursement_id, data))
        )

    @read_rpc
    def get_disbursement(self, disbursement_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return DISBURSEMENT.dump(disbursements.get_disbursement(session, disbursement_id))

    @read_rpc
    def list_disbursements(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(DisbursementQuery(), query)
        with self.db.read() as session:
            return DISBURSEMENTS.dump(disbursements.list_disbursements(session, q))

    # ledger and reports
    @read_rpc
    def get_pool(self, community_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return POOL.dump(disbursements.get_pool(session, community_id))

    @read_rpc
    def list_transfers(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(TransferQuery(), query)
        with self.db.read() as session:
            return TRANSFERS.dump(disbursements.list_transfers(session, q))

    @read_rpc
    def trial_balance(self) -> dict[str, Any]:
        with self.db.read() as session:
            return TRIAL_BALANCE.dump(ledger.trial_balance(session))

    @rpc
    def transparency_report(self, community_id: str, query: dict[str, Any]) -> dict[str, Any]:
        q = load(TransparencyQuery(), query)
        with self.db.read() as session:
            return TRANSPARENCY.dump(transparency.build(session, str(community_id), q["year"]))

    @rpc
    def transparency_csv(self, community_id: str, query: dict[str, Any]) -> str:
        q = load(TransparencyQuery(), query)
        with self.db.read() as session:
            return transparency.to_csv(transparency.build(session, str(community_id), q["year"]))

    @timer(interval=30, eager=True)  # eager: the gauges are set at start-up
    def refresh_gauges(self) -> None:
        with self.db.read() as session:
            pending, pools = disbursements.gauges(session)
        business_metrics.DISBURSEMENTS_PENDING.labels(self.name).set(pending)
        business_metrics.FUND_POOL_BALANCE_FEN.labels(self.name).set(pools)

    # helpers
    def _change(self, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        with self.db.transaction() as uow:
            result = work(uow)
            contributed = sum(
                e.data["amount_fen"]
                for e in uow.events
                if e.type == "contribution.recorded" and e.data["amount_fen"] > 0
            )
        if contributed:
            business_metrics.FUND_CONTRIBUTIONS_FEN.labels(self.name).inc(contributed)
        self.refresh_gauges()
        return result

    def _idempotent(self, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """A change keyed by a client-supplied transfer id. Two retries racing each other
        both pass the replay check; the loser hits the id's primary key at commit, and then
        the winner's answer is the right one to give it."""
        try:
            return self._change(work)
        except Conflict:
            return self._change(work)  # a replay now, or the same clear conflict again

    def _require_organisation(self, organisation_id: str, field: str) -> dict[str, Any]:
        try:
            return self.registry.get_organisation(organisation_id)
        except NotFound:
            raise NotFound(f"organisation {organisation_id} does not exist", {field: ["not found"]}) from None
