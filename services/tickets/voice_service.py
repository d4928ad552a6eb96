"""Entrypoints of residents' voice (suggestions, mediation cases, the reports by topic,
dispute and beneficiary group, and the service's district indicators), mixed into
:class:`services.tickets.service.TicketsService`: parse, authorise, call the operations."""

from __future__ import annotations

import logging
from typing import Any

from services.indicators import PeriodQuery, day_bounds
from services.registry.lookups import require_community
from services.tickets import mediation, voice
from services.tickets.business_metrics import SUGGESTIONS_ESCALATED
from services.tickets.permissions import (
    CASE_READERS,
    MEDIATORS,
    SUGGESTION_COLLECTORS,
    SUGGESTION_HANDLERS,
    SUGGESTION_READERS,
    VOICE_REPORT_READERS,
)
from services.tickets.schedule import configured_timer
from services.tickets.voice_rules import ANSWER_DAYS, SCOPED_STAFF, Reach, case_within, reach
from services.tickets.voice_schemas import (
    AnswerIn,
    CaseIn,
    CaseOut,
    CloseIn,
    DisputeReportQuery,
    DisputeReportRow,
    GroupReportRow,
    LinkIn,
    MergeIn,
    SessionIn,
    SuggestionIn,
    SuggestionOut,
    SuggestionQuery,
    SuggestionReportRow,
    VoiceReportQuery,
)
from yilin.errors import Forbidden, InvalidInput, NotFound, load
from yilin.httpreads import read_rpc
from yilin.identity import Identity
from yilin.paging import page_schema
from yilin.rpc import RpcProxy, rpc, write_rpc

log = logging.getLogger(__name__)

SUGGESTION, SUGGESTIONS = SuggestionOut(), page_schema(SuggestionOut)()
CASE, CASES = CaseOut(), CaseOut(many=True)
TOPIC_REPORT, DISPUTE_REPORT = SuggestionReportRow(many=True), DisputeReportRow(many=True)
GROUP_REPORT = GroupReportRow(many=True)


def require(caller: Identity, roles: tuple[str, ...], action: str) -> None:
    """The route's roles, plus the service's own account."""
    if caller.role not in roles + ("service",):
        raise Forbidden(f"the role {caller.role} may not {action}", {"role": [caller.role]})


class VoiceEntrypoints:
    """Suggestions and mediation cases; needs the host's ``db``, ``caller``, ``pii`` and ``registry``."""

    fund = RpcProxy("fund")  # checks that a linked fund request names the suggestion
    db: Any
    caller: Any
    pii: Any
    registry: Any
    config: Any

    # -- suggestions ------------------------------------------------------------------
    @write_rpc
    def collect_suggestion(self, payload: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, SUGGESTION_COLLECTORS, "collect suggestions")
        data = load(SuggestionIn(), payload)
        require_community(self.registry, str(data["community_id"]))
        with self.db.transaction() as uow:
            return SUGGESTION.dump(voice.collect(uow, self.pii, self.caller, data, self._answer_days()))

    def _answer_days(self) -> float:
        """The answer deadline: a week unless the operators set another."""
        return float(self.config.get("TICKETS_SUGGESTION_ANSWER_DAYS", ANSWER_DAYS))

    def _reach(self) -> Reach:
        """Which suggestions the caller sees; staff of an organisation: its communities."""
        caller = self.caller
        communities = (self.registry.caller_scope().get("communities") or ()) if caller.role in SCOPED_STAFF else ()
        return reach(caller.role, caller.subject, tuple(communities))

    def _within_reach(self, *suggestion_ids: Any) -> Reach:
        r = self._reach()
        with self.db.read() as session:
            for suggestion_id in suggestion_ids:
                voice.check_reach(session, r, voice.suggestion_row(session, suggestion_id))
        return r

    @read_rpc
    def get_suggestion(self, suggestion_id: str) -> dict[str, Any]:
        require(self.caller, SUGGESTION_READERS, "read suggestions")
        r = self._within_reach(suggestion_id)
        with self.db.read() as session:
            row = voice.suggestion_row(session, suggestion_id)
            return SUGGESTION.dump(voice.views(session, [row], reduced=r.resident is not None)[0])

    @read_rpc
    def list_suggestions(self, query: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, SUGGESTION_READERS, "read suggestions")
        q = load(SuggestionQuery(), query)
        r = self._reach()
        with self.db.read() as session:
            return SUGGESTIONS.dump(voice.list_suggestions(session, r, q))

    @write_rpc
    def merge_suggestion(self, suggestion_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, SUGGESTION_HANDLERS, "merge suggestions")
        data = load(MergeIn(), payload)
        self._within_reach(suggestion_id, data["into_id"])
        with self.db.transaction() as uow:
            return SUGGESTION.dump(voice.merge(uow, suggestion_id, data["into_id"]))

    @write_rpc
    def answer_suggestion(self, suggestion_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, SUGGESTION_HANDLERS, "answer suggestions")
        data = load(AnswerIn(), payload)
        self._within_reach(suggestion_id)
        with self.db.transaction() as uow:
            return SUGGESTION.dump(voice.answer(uow, self.caller, suggestion_id, data))

    @write_rpc
    def link_suggestion(self, suggestion_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Record what the suggestion turned into; a ticket must exist here, and a fund
        request must name this suggestion (the fund keeps the other side of the link)."""
        require(self.caller, SUGGESTION_HANDLERS, "act on suggestions")
        data = load(LinkIn(), payload)
        kind, target = data["kind"], str(data["target_id"])
        self._within_reach(suggestion_id)
        with self.db.read() as session:
            if kind == "ticket" and not voice.ticket_exists(session, target):
                raise NotFound(f"ticket {target} does not exist", {"target_id": ["not found"]})
        if kind == "fund_disbursement":
            try:
                request = self.fund.get_disbursement(target)
            except NotFound:
                raise NotFound(f"fund request {target} does not exist", {"target_id": ["not found"]}) from None
            if request.get("suggestion_id") != str(suggestion_id):
                raise InvalidInput(
                    "the fund request answers another suggestion", {"target_id": ["does not name this suggestion"]}
                )
        with self.db.transaction() as uow:
            return SUGGESTION.dump(voice.link(uow, self.caller, suggestion_id, kind, target))

    @read_rpc
    def suggestion_report(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        require(self.caller, VOICE_REPORT_READERS, "read the suggestion report")
        q = load(VoiceReportQuery(), query)
        with self.db.read() as session:
            return TOPIC_REPORT.dump(voice.report(session, q))

    @configured_timer("TICKETS_SUGGESTION_INTERVAL", 60)
    def suggestion_sweep(self) -> None:
        """Escalate suggestions whose answer is overdue (claimed rows: one replica each)."""
        with self.db.transaction() as uow:
            escalated = voice.sweep_overdue(uow)
        if escalated:
            SUGGESTIONS_ESCALATED.labels("tickets").inc(len(escalated))
            log.info("escalated %d suggestion(s) with an overdue answer", len(escalated))

    # -- mediation cases --------------------------------------------------------------
    @write_rpc
    def open_case(self, payload: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, MEDIATORS, "open mediation cases")
        data = load(CaseIn(), payload)
        community_id = str(data["community_id"])
        require_community(self.registry, community_id)
        street_id = self.registry.get_place(community_id).get("parent_id")
        if not case_within(self._reach(), community_id, str(data["social_worker_id"])):
            raise Forbidden(
                "mediate in your organisation's communities, or name yourself the mediator",
                {"community_id": ["not within your reach"]},
            )
        with self.db.transaction() as uow:
            return CASE.dump(mediation.open_case(uow, self.caller, data, street_id))

    @read_rpc
    def get_case(self, case_id: str) -> dict[str, Any]:
        require(self.caller, CASE_READERS, "read mediation cases")
        self._case_within_reach(case_id)
        with self.db.read() as session:
            return CASE.dump(mediation.case_view(session, mediation.case_row(session, case_id)))

    def _case_within_reach(self, case_id: str) -> None:
        r = self._reach()
        with self.db.read() as session:
            row = mediation.case_row(session, case_id)
            if not case_within(r, row.community_id, row.social_worker_id):
                raise Forbidden("this case is not yours to see", {"case_id": ["not within your reach"]})

    @write_rpc
    def add_case_session(self, case_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, MEDIATORS, "record mediation sessions")
        data = load(SessionIn(), payload)
        self._case_within_reach(case_id)
        with self.db.transaction() as uow:
            return CASE.dump(mediation.add_session(uow, self.caller, case_id, data))

    @write_rpc
    def close_case(self, case_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        require(self.caller, MEDIATORS, "close mediation cases")
        data = load(CloseIn(), payload)
        self._case_within_reach(case_id)
        with self.db.transaction() as uow:
            return CASE.dump(mediation.close_case(uow, case_id, data))

    @read_rpc
    def dispute_report(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        require(self.caller, VOICE_REPORT_READERS, "read the dispute report")
        q = load(DisputeReportQuery(), query)
        with self.db.read() as session:
            return DISPUTE_REPORT.dump(mediation.dispute_report(session, q))

    @read_rpc
    def beneficiary_report(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        require(self.caller, VOICE_REPORT_READERS, "read the beneficiary group report")
        q = load(VoiceReportQuery(), query)
        with self.db.read() as session:
            return GROUP_REPORT.dump(mediation.group_report(session, q))

    # -- the district's indicators ----------------------------------------------------
    @rpc
    def indicator_counts(self, query: dict[str, Any]) -> dict[str, float]:
        """The tickets service's part of the district indicators for a period of days
        (aggregates only: any verified caller, the public district page too)."""
        q = load(PeriodQuery(), query)
        low, high = day_bounds(q.get("from_"), q.get("to"))
        with self.db.read() as session:
            return {
                **voice.indicator_counts(session, low, high),
                **mediation.dispute_counts(session, low, high),
                "tickets_resolved": mediation.tickets_resolved(session, low, high),
            }
