"""Tickets service entrypoints: parse, authorise, call the domain, return."""

from __future__ import annotations

import logging
from typing import Any, Callable

from nameko.dependency_providers import Config

from services import METRICS_PORTS
from services.registry.lookups import require_community, require_grid
from services.roles import AUDIT_READERS
from services.tickets import business_metrics, catalogue, dispatch, domain, partners, records, reports, sla, work
from services.tickets.events import EVENTS
from services.tickets.models import Base
from services.tickets.schedule import configured_timer
from services.tickets.schemas import (
    AssignIn,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CategoryQuery,
    ConfirmIn,
    NoteIn,
    ReportQuery,
    ReportRow,
    ResolveIn,
    SuggestionsOut,
    TicketIn,
    TicketOut,
    TicketQuery,
    TransitionOut,
)
from services.tickets.visibility import NEEDS_SCOPE, Visibility, visibility
from services.tickets.voice_service import VoiceEntrypoints
from yilin.audit import AuditLogRpc
from yilin.db import Database
from yilin.errors import NotFound, load, load_once_built
from yilin.etags import require_match
from yilin.httpreads import read_rpc
from yilin.identity import Caller
from yilin.metrics import Instrumentation
from yilin.paging import page_schema
from yilin.pii import PersonalDataKey
from yilin.rpc import RpcProxy, rpc, write_rpc
from yilin.tracing import Tracing

log = logging.getLogger(__name__)

CATEGORY, CATEGORIES = CategoryOut(), page_schema(CategoryOut)()
TICKET, TICKETS = TicketOut(), page_schema(TicketOut)()
HISTORY, SUGGESTIONS, REPORT = TransitionOut(many=True), SuggestionsOut(), ReportRow(many=True)
TICKET_QUERY = TicketQuery()  # the list page's: built once (construction costs more than a load)
NAME = "tickets"


class TicketsService(VoiceEntrypoints, AuditLogRpc):
    name = NAME
    metrics_port = METRICS_PORTS["tickets"]
    audit_readers = AUDIT_READERS

    db = Database(Base.metadata, EVENTS)
    caller = Caller()
    metrics = Instrumentation()
    traces = Tracing()  # one span per worker when OTLP_ENDPOINT is set (yilin.tracing)
    pii = PersonalDataKey()
    registry = RpcProxy("registry")
    config = Config()

    @rpc
    def ping(self) -> str:
        return "pong"

    # categories
    @write_rpc
    def create_category(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CategoryIn(), payload)
        with self.db.transaction() as uow:
            return CATEGORY.dump(catalogue.create_category(uow, data))

    @read_rpc
    def get_category(self, category_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return CATEGORY.dump(catalogue.get_category(session, category_id))

    @write_rpc
    def update_category(
        self, category_id: str, payload: dict[str, Any], if_match: list[str] | None = None
    ) -> dict[str, Any]:
        patch = load(CategoryPatch(), payload)
        with self.db.transaction() as uow:
            return CATEGORY.dump(
                catalogue.update_category(
                    uow, category_id, patch, lambda view: require_match(if_match, CATEGORY.dump(view))
                )
            )

    @read_rpc
    def list_categories(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(CategoryQuery(), query)
        with self.db.read() as session:
            return CATEGORIES.dump(catalogue.list_categories(session, q))

    # tickets
    @write_rpc
    def open_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(TicketIn(), payload)
        require_community(self.registry, str(data["community_id"]))
        if data.get("grid_id"):
            require_grid(self.registry, str(data["grid_id"]), str(data["community_id"]))
        return self._change(lambda uow: domain.open_ticket(uow, self.pii, self.caller, data))

    def _require_visible(self, ticket_id: str) -> None:
        """Every action on a ticket is for callers who see it: another tenant's is 403."""
        with self.db.read() as session:
            domain.require_visible(session, self._visibility(), ticket_id)

    def _visibility(self) -> Visibility:
        """What the caller sees; the registry says which teams and communities it reaches."""
        caller = self.caller
        return visibility(caller, self.registry.caller_scope() if caller.role in NEEDS_SCOPE else None)

    @read_rpc
    def get_ticket(self, ticket_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return TICKET.dump(domain.get_ticket(session, self._visibility(), ticket_id))

    @read_rpc
    def list_tickets(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load_once_built(TICKET_QUERY, query)
        v = self._visibility()
        if domain.lists_plainly(v):
            with self.db.rows() as reader:
                return TICKETS.dump(domain.list_tickets_plainly(reader, v, q))
        with self.db.read() as session:
            return TICKETS.dump(domain.list_tickets(session, v, q))

    @read_rpc
    def ticket_history(self, ticket_id: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return HISTORY.dump(domain.history(session, self._visibility(), ticket_id))

    # dispatch
    @read_rpc
    def suggest_teams(self, ticket_id: str) -> dict[str, Any]:
        self._require_visible(ticket_id)
        with self.db.read() as session:
            target = work.dispatch_target(session, self.caller, ticket_id)
        candidates = self.registry.find_candidates(target["community_id"], target["skill"])
        ids = [c["id"] for c in candidates]
        with self.db.read() as session:
            loads, history = work.team_loads(session, ids), records.sla_records(session, ids)
        return SUGGESTIONS.dump(
            {
                "skill": target["skill"],
                "items": dispatch.rank(candidates, target["skill"], target["professional_only"], loads, history),
            }
        )

    @write_rpc
    def assign(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(AssignIn(), payload)
        if data.get("partner_id"):
            partner_id = str(data["partner_id"])
            try:
                partner = self.registry.get_partner(partner_id)
            except NotFound:
                raise NotFound(f"partner {partner_id} does not exist", {"partner_id": ["not found"]}) from None
            statuses = self.registry.volunteer_statuses([str(v) for v in data["volunteer_ids"]])
            return self._change(
                lambda uow: partners.assign_partner(uow, self.caller, ticket_id, data, partner, statuses)
            )
        team_id = str(data["team_id"])
        try:
            team = self.registry.get_team(team_id)
            members = self.registry.team_members(team_id)
        except NotFound:
            raise NotFound(f"team {team_id} does not exist", {"team_id": ["not found"]}) from None
        return self._change(lambda uow: work.assign(uow, self.caller, ticket_id, data, team, members))

    # work and the resident's word
    @write_rpc
    def start(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(NoteIn(), payload)
        return self._change(lambda uow: work.start(uow, self.caller, ticket_id, data))

    @write_rpc
    def resolve(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(ResolveIn(), payload)
        return self._change(lambda uow: work.resolve(uow, self.caller, ticket_id, data))

    @write_rpc
    def confirm(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(ConfirmIn(), payload)
        view = self._change(lambda uow: work.confirm(uow, self.caller, ticket_id, data))
        business_metrics.TICKET_RATINGS.labels(NAME, str(data["rating"])).inc()
        return view

    @write_rpc
    def reopen(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(NoteIn(), payload)
        window = float(self.config.get("TICKETS_REOPEN_WINDOW_DAYS", 7))
        return self._change(lambda uow: work.reopen(uow, self.caller, ticket_id, data, window))

    @write_rpc
    def escalate(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(NoteIn(), payload)
        with self.db.read() as session:
            community_id = domain.ticket_row(session, ticket_id).community_id
        worker = self._social_worker(community_id)
        return self._change(lambda uow: work.escalate(uow, self.caller, ticket_id, data, worker))

    def _social_worker(self, community_id: str) -> dict[str, Any] | None:
        """The registry's certified social worker for the community, or ``None`` when it
        names none yet (the ticket is escalated all the same; the timer asks again)."""
        try:
            return self.registry.find_social_worker(community_id)
        except NotFound:
            log.warning("no certified social worker for community %s", community_id)
            return None

    def _name_social_workers(self) -> None:
        """Name a social worker on tickets the timer escalated."""
        with self.db.read() as session:
            waiting = records.awaiting_social_worker(session)
        for item in waiting:
            worker = self._social_worker(item["community_id"])
            if worker is not None:
                with self.db.transaction() as uow:
                    records.record_social_worker(uow, item["ticket_id"], worker)

    @write_rpc
    def cancel(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._require_visible(ticket_id)
        data = load(NoteIn(), payload)
        return self._change(lambda uow: work.cancel(uow, self.caller, ticket_id, data))

    # reports
    @read_rpc
    def report(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        q = load(ReportQuery(), query)
        with self.db.read() as session:
            return REPORT.dump(reports.report(session, q))

    # timers: every replica runs them; the claiming in store/sweeps.py keeps them from colliding
    @configured_timer("TICKETS_SLA_INTERVAL", 30, eager=True)  # eager: the gauges are set at start-up
    def sla_sweep(self) -> None:
        with self.db.transaction() as uow:
            outcomes = sla.sweep_deadlines(uow)
        for outcome in outcomes:
            for kind in outcome["breaches"]:
                business_metrics.TICKET_SLA_BREACHES.labels(NAME, outcome["category"], kind).inc()
        escalated = [o["ticket_id"] for o in outcomes if o["escalated"]]
        if escalated:
            log.info("escalated %d ticket(s) to a social worker", len(escalated))
        try:
            self._name_social_workers()
        except Exception:
            log.warning("could not name social workers", exc_info=True)
        self._count_open()

    @configured_timer("TICKETS_AUTO_CONFIRM_INTERVAL", 300)
    def auto_confirm_sweep(self) -> None:
        days = float(self.config.get("TICKETS_AUTO_CONFIRM_DAYS", 7))
        with self.db.transaction() as uow:
            confirmed = sla.auto_confirm(uow, days)
        if confirmed:
            log.info("auto-confirmed %d ticket(s)", len(confirmed))
            self._count_open()

    def _change(self, work: Callable[[Any], Any]) -> dict[str, Any]:
        """A ticket transition in one transaction, then the open-tickets gauge."""
        with self.db.transaction() as uow:
            view = TICKET.dump(work(uow))
        try:
            self._count_open()
        except Exception:  # the change is committed; the next sweep sets the gauge
            log.warning("could not count open tickets", exc_info=True)
        return view

    def _count_open(self) -> None:
        with self.db.read() as session:
            counts = sla.open_counts(session)
        for (state, category), count in counts.items():
            business_metrics.TICKETS_OPEN.labels(NAME, state, category).set(count)
