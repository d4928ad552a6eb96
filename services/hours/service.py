"""Hours service entrypoints: parse, authorise, call the domain, return."""

from __future__ import annotations

import base64
import functools
from datetime import datetime
from typing import Any, Iterable

from services import METRICS_PORTS
from services.district import LOCAL_TIME
from services.hours import (
    attendance,
    business_metrics,
    certificates,
    consumed,
    corrections,
    credits,
    ledger,
    projection,
    records,
    standings,
)
from services.hours.events import EVENTS
from services.hours.models import Base
from services.hours.permissions import ORGANISATION_STAFF, entry_scope, reads_volunteer
from services.hours.schemas import (
    CertificateCheckOut,
    CertificateCheckQuery,
    CertificateIn,
    CertificateOut,
    CorrectionIn,
    EntryOut,
    EntryQuery,
    LeaderboardOut,
    LeaderboardQuery,
    PeriodQuery,
    RejectIn,
    SelectionIn,
    SelectionOut,
    SheetIn,
    SheetOut,
    VolunteerRecordOut,
    VolunteerTotalOut,
)
from services.hours.settings import Settings
from services.hours.store import LedgerStore, ProjectionStore
from services.indicators import PeriodQuery as IndicatorPeriod
from services.roles import AUDIT_READERS
from yilin.audit import AuditLogRpc
from yilin.consuming import consumes
from yilin.db import Database, UnitOfWork
from yilin.errors import load
from yilin.etags import require_match
from yilin.events import Envelope
from yilin.httpreads import read_rpc
from yilin.identity import Caller
from yilin.metrics import Instrumentation
from yilin.paging import page_schema
from yilin.rpc import RpcProxy, rpc, write_rpc
from yilin.tracing import Tracing

ENTRY, ENTRIES, SHEET = EntryOut(), page_schema(EntryOut)(), SheetOut()
TOTAL, LEADERBOARD, SELECTION = VolunteerTotalOut(), LeaderboardOut(), SelectionOut()
CERTIFICATE, CERTIFICATE_CHECK, RECORD = CertificateOut(), CertificateCheckOut(), VolunteerRecordOut()
INDICATOR_PERIOD = IndicatorPeriod()
PERIOD_QUERY = PeriodQuery()  # a total's: built once (construction costs more than a load)
NO_PERIOD = load(PERIOD_QUERY, {})  # a total asked with no query (the gateway's read), loaded once by the schema


VERIFIED_SECONDS = business_metrics.VOLUNTEER_VERIFIED_SECONDS.labels("hours")


def observe(events: Iterable[Envelope]) -> None:
    """Business metrics from the events a transaction emitted."""
    for event in events:
        if event.type == "hours.verified":
            VERIFIED_SECONDS.inc(event.data["minutes"] * 60)
        elif event.type == "hours.corrected" and event.data["delta_minutes"] > 0:
            VERIFIED_SECONDS.inc(event.data["delta_minutes"] * 60)
        elif event.type == "volunteer.star_level_reached":
            business_metrics.STAR_LEVELS_REACHED.labels("hours", str(event.data["level"])).inc()


def lock_ticket_rows(service: "HoursService", uow: UnitOfWork, events: list[Envelope]) -> LedgerStore:
    """Lock and load what a batch of ticket events touches; its handlers share the store."""
    store = LedgerStore.for_batch(uow.session)  # entries and totals written with Core statements
    uow.before_commit(store.write)
    store.prepare_tickets([event.data for event in events])
    return store


class HoursService(AuditLogRpc):
    name = "hours"
    metrics_port = METRICS_PORTS["hours"]
    audit_readers = AUDIT_READERS

    db = Database(Base.metadata, EVENTS)
    caller = Caller()
    metrics = Instrumentation()
    traces = Tracing()  # one span per worker when OTLP_ENDPOINT is set (yilin.tracing)
    settings = Settings()
    registry = RpcProxy("registry")

    @rpc
    def ping(self) -> str:
        return "pong"

    @rpc
    def indicator_counts(self, query: dict[str, Any]) -> dict[str, int]:
        """The ledger's part of the district indicators (aggregates only: any verified caller)."""
        q = load(INDICATOR_PERIOD, query)
        with self.db.read() as session:
            return standings.indicator_counts(session, q.get("from_"), q.get("to"))

    # attendance sheets and entries
    @write_rpc
    def submit_sheet(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(SheetIn(), payload)
        with self.db.transaction() as uow:
            return SHEET.dump(ledger.submit_sheet(uow, self.caller, data))

    @read_rpc
    def get_sheet(self, sheet_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return SHEET.dump(ledger.get_sheet(session, self.caller, sheet_id))

    @write_rpc
    def verify_sheet(self, sheet_id: str) -> dict[str, Any]:
        with self.db.transaction() as uow:
            result = SHEET.dump(ledger.verify_sheet(uow, self.caller, sheet_id, self.settings.star_minutes))
        observe(uow.events)
        return result

    @read_rpc
    def get_entry(self, entry_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            view = ledger.get_entry(session, entry_id)
        self._authorise_volunteer(view["volunteer_id"], recorded_by=view["organisation_id"])
        return ENTRY.dump(view)

    @read_rpc
    def list_entries(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(EntryQuery(), query)
        scope = entry_scope(self.caller, str(q["volunteer_id"]) if q.get("volunteer_id") else None)
        with self.db.read() as session:
            return ENTRIES.dump(ledger.list_entries(session, q, scope))

    @write_rpc
    def verify_entry(self, entry_id: str) -> dict[str, Any]:
        with self.db.transaction() as uow:
            result = ENTRY.dump(ledger.verify_entry(uow, self.caller, entry_id, self.settings.star_minutes))
        observe(uow.events)
        return result

    @write_rpc
    def reject_entry(self, entry_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(RejectIn(), payload)
        with self.db.transaction() as uow:
            return ENTRY.dump(ledger.reject_entry(uow, self.caller, entry_id, data))

    # corrections
    @write_rpc
    def request_correction(self, entry_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CorrectionIn(), payload)
        with self.db.transaction() as uow:
            return ENTRY.dump(corrections.request_correction(uow, self.caller, entry_id, data))

    @write_rpc
    def approve_correction(self, correction_id: str) -> dict[str, Any]:
        with self.db.transaction() as uow:
            result = ENTRY.dump(
                corrections.approve_correction(uow, self.caller, correction_id, self.settings.star_minutes)
            )
        observe(uow.events)
        return result

    @write_rpc
    def reject_correction(self, correction_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(RejectIn(), payload)
        with self.db.transaction() as uow:
            return ENTRY.dump(corrections.reject_correction(uow, self.caller, correction_id, data))

    # totals, leaderboards, star levels
    @read_rpc
    def volunteer_total(self, volunteer_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        q = load(PERIOD_QUERY, query) if query else NO_PERIOD  # 26 µs a read for the same answer
        self._authorise_volunteer(volunteer_id)
        with self.db.rows() as reader:
            return TOTAL.dump(standings.volunteer_total(reader, volunteer_id, q["period_from"], q["period_to"]))

    @read_rpc
    def leaderboard(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(LeaderboardQuery(), query)
        with self.db.read() as session:
            return LEADERBOARD.dump(standings.leaderboard(session, q))

    @read_rpc
    def get_selection(self, volunteer_id: str) -> dict[str, Any]:
        self._authorise_volunteer(volunteer_id)
        with self.db.rows() as reader:
            return SELECTION.dump(standings.volunteer_total(reader, volunteer_id))

    @write_rpc
    def set_selection(
        self, volunteer_id: str, payload: dict[str, Any], if_match: list[str] | None = None
    ) -> dict[str, Any]:
        data = load(SelectionIn(), payload)
        organisation = None
        if self.caller.role in ORGANISATION_STAFF:  # their own organisation's volunteers only
            organisation = self._volunteer_organisation(volunteer_id)
        with self.db.transaction() as uow:
            ledger.set_selection(
                uow,
                self.caller,
                volunteer_id,
                data["selected"],
                self.settings.star_minutes,
                lambda view: require_match(if_match, SELECTION.dump(view)),
                organisation,
            )
        observe(uow.events)
        with self.db.rows() as reader:
            return TOTAL.dump(standings.volunteer_total(reader, volunteer_id))

    def _volunteer_organisation(self, volunteer_id: str) -> str | None:
        """The volunteer's organisation: the projection's, else (a volunteer announced
        before events carried it, or of none) the registry's, which is 404 for nobody."""
        with self.db.read() as session:
            organisation = ProjectionStore(session).volunteer_organisation(volunteer_id)
        return organisation or self.registry.get_volunteer(volunteer_id).get("organisation_id")

    def _authorise_volunteer(self, volunteer_id: str, recorded_by: str | None = None) -> None:
        """403 unless the caller may read this volunteer's hours (permissions.reads_volunteer);
        only an organisation's staff need the volunteer's organisation looked up."""
        volunteer: dict[str, Any] = {"id": volunteer_id}
        if not reads_volunteer(self.caller, volunteer_id, (recorded_by,)) and self.caller.role in ORGANISATION_STAFF:
            volunteer["organisation_id"] = self._volunteer_organisation(volunteer_id)
        records.authorise(self.caller, volunteer, issuer=recorded_by)

    # certificates
    @write_rpc
    def issue_certificate(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(CertificateIn(), payload)
        volunteer = self.registry.get_volunteer(str(data["volunteer_id"]))
        organisation = self.registry.get_organisation(str(data["organisation_id"]))
        today = datetime.now(LOCAL_TIME).date()
        with self.db.transaction() as uow:
            return CERTIFICATE.dump(
                certificates.issue(
                    uow, self.caller, self.settings.certificate_key, data, volunteer, organisation, today
                )
            )

    @read_rpc
    def get_certificate(self, certificate_id: str) -> dict[str, Any]:
        return CERTIFICATE.dump(self._certificate(certificate_id))

    @rpc
    def certificate_pdf(self, certificate_id: str) -> dict[str, Any]:
        view = self._certificate(certificate_id)
        pdf = certificates.render_pdf(view, self.settings.font, self.settings.check_url)
        return {"filename": f"{view['number']}.pdf", "pdf_base64": base64.b64encode(pdf).decode()}

    @read_rpc
    def verify_certificate(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(CertificateCheckQuery(), query)
        with self.db.read() as session:
            return CERTIFICATE_CHECK.dump(certificates.verify(session, self.settings.certificate_key, q))

    # the national record
    @rpc
    def volunteer_record(self, volunteer_id: str) -> dict[str, Any]:
        return RECORD.dump(self._record(volunteer_id))

    @rpc
    def volunteer_record_csv(self, volunteer_id: str) -> dict[str, Any]:
        record = self._record(volunteer_id)
        return {"filename": f"{record['personal']['volunteer_number']}.csv", "csv": records.record_csv(record)}

    def _certificate(self, certificate_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            view = certificates.certificate_view(certificates.get(session, certificate_id))
        volunteer: dict[str, Any] = {"id": view["volunteer_id"]}
        issuer = view["organisation_id"]
        if self.caller.role in ORGANISATION_STAFF and self.caller.organisation_id != issuer:
            volunteer = self.registry.get_volunteer(view["volunteer_id"])  # their own organisation
        records.authorise(self.caller, volunteer, issuer=issuer)
        return view

    def _record(self, volunteer_id: str) -> dict[str, Any]:
        volunteer = self.registry.get_volunteer(volunteer_id)
        records.authorise(self.caller, volunteer)
        with self.db.read() as session:
            return records.volunteer_record(session, volunteer)

    # tickets
    @consumes("tickets", "ticket.resolved", prepare=lock_ticket_rows)
    def on_ticket_resolved(self, uow: UnitOfWork, event: Envelope, store: LedgerStore) -> None:
        credits.ticket_resolved(
            uow,
            consumed.read(consumed.TicketResolved, event.type, event.data),
            event.occurred_at,
            self.settings.star_minutes,
            store,
        )
        uow.after_commit(functools.partial(observe, uow.step_events))

    @consumes("tickets", "ticket.resolved_by_partner", prepare=lock_ticket_rows)
    def on_partner_ticket_resolved(self, uow: UnitOfWork, event: Envelope, store: LedgerStore) -> None:
        """A partner's ticket: its own paid work earns nothing; the volunteers named on it earn their minutes."""
        credits.ticket_resolved(
            uow,
            consumed.read(consumed.TicketResolved, event.type, event.data),
            event.occurred_at,
            self.settings.star_minutes,
            store,
        )
        uow.after_commit(functools.partial(observe, uow.step_events))

    @consumes("tickets", "ticket.confirmed", prepare=lock_ticket_rows)
    def on_ticket_confirmed(self, uow: UnitOfWork, event: Envelope, store: LedgerStore) -> None:
        credits.ticket_confirmed(
            uow,
            consumed.read(consumed.TicketConfirmed, event.type, event.data),
            event.occurred_at,
            self.settings.star_minutes,
            store,
        )
        uow.after_commit(functools.partial(observe, uow.step_events))

    @consumes("tickets", "ticket.reopened", prepare=lock_ticket_rows)
    def on_ticket_reopened(self, uow: UnitOfWork, event: Envelope, store: LedgerStore) -> None:
        credits.ticket_reopened(
            uow,
            consumed.read(consumed.TicketRef, event.type, event.data),
            event.occurred_at,
            self.settings.star_minutes,
            store,
        )

    @consumes("tickets", "ticket.cancelled", prepare=lock_ticket_rows)
    def on_ticket_cancelled(self, uow: UnitOfWork, event: Envelope, store: LedgerStore) -> None:
        credits.ticket_cancelled(
            uow,
            consumed.read(consumed.TicketRef, event.type, event.data),
            event.occurred_at,
            self.settings.star_minutes,
            store,
        )

    # the registry projection
    @consumes("registry", "volunteer.registered")
    def on_volunteer_registered(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.volunteer_registered(
            uow.session, consumed.read(consumed.VolunteerRegistered, event.type, event.data)
        )

    @consumes("registry", "volunteer.updated")
    def on_volunteer_updated(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.volunteer_updated(uow.session, consumed.read(consumed.VolunteerUpdated, event.type, event.data))

    @consumes("registry", "volunteer.deactivated")
    def on_volunteer_deactivated(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.volunteer_deactivated(
            uow.session, consumed.read(consumed.VolunteerDeactivated, event.type, event.data)
        )

    @consumes("registry", "team.created")
    def on_team_created(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.team_created(uow.session, consumed.read(consumed.TeamCreated, event.type, event.data))

    @consumes("registry", "team.member_joined")
    def on_member_joined(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.member_joined(uow.session, consumed.read(consumed.TeamMembership, event.type, event.data))

    @consumes("registry", "team.member_left")
    def on_member_left(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.member_left(uow.session, consumed.read(consumed.TeamMembership, event.type, event.data))

    @consumes("registry", "organisation.registered")
    def on_organisation_registered(self, uow: UnitOfWork, event: Envelope) -> None:
        projection.organisation_registered(
            uow.session, consumed.read(consumed.OrganisationRegistered, event.type, event.data)
        )

    # the activities service: attendance, training sessions and commendations
    @consumes("activities", "activity.attendance_recorded")
    def on_attendance_recorded(self, uow: UnitOfWork, event: Envelope) -> None:
        attendance.attendance_recorded(uow, consumed.read(consumed.AttendanceRecorded, event.type, event.data))

    @consumes("activities", "training.completed")
    def on_training_completed(self, uow: UnitOfWork, event: Envelope) -> None:
        attendance.training_completed(uow, consumed.read(consumed.TrainingCompleted, event.type, event.data))

    @consumes("activities", "commendation.awarded")
    def on_commendation_awarded(self, uow: UnitOfWork, event: Envelope) -> None:
        attendance.commendation_awarded(uow, consumed.read(consumed.CommendationAwarded, event.type, event.data))
