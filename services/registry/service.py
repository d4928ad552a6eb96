"""Registry service entrypoints: parse, call the domain, return."""

from __future__ import annotations

from typing import Any

from services import METRICS_PORTS
from services.indicators import FIGURES, PeriodQuery
from services.registry import access, bulkload, domain, permissions, structure, volunteers
from services.registry.events import EVENTS
from services.registry.models import Base
from services.registry.rows import StructureImportResult
from services.registry.schemas import (
    CadreIn,
    CadreOut,
    CadreQuery,
    CandidateOut,
    GridOut,
    ImportResult,
    MemberOut,
    MembershipIn,
    MembershipOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationQuery,
    PlaceIn,
    PlaceOut,
    PlaceQuery,
    RegistryCounts,
    SocialWorkerOut,
    TeamIn,
    TeamOut,
    TeamQuery,
    UnitIn,
    UnitOut,
    UnitQuery,
    VolunteerIn,
    VolunteerOut,
    VolunteerPatch,
    VolunteerQuery,
)
from services.roles import AUDIT_READERS
from yilin.audit import AuditLogRpc
from yilin.db import Database
from yilin.errors import InvalidInput, load
from yilin.etags import require_match
from yilin.httpreads import read_rpc
from yilin.identity import Caller
from yilin.metrics import Instrumentation
from yilin.paging import page_schema
from yilin.pii import PersonalDataKey
from yilin.rpc import rpc, write_rpc
from yilin.tracing import Tracing

PLACE, PLACES = PlaceOut(), page_schema(PlaceOut)()
ORGANISATION, ORGANISATIONS = OrganisationOut(), page_schema(OrganisationOut)()
TEAM, TEAMS, TEAM_LIST = TeamOut(), page_schema(TeamOut)(), TeamOut(many=True)
MEMBERSHIP, MEMBER_LIST = MembershipOut(), MemberOut(many=True)
VOLUNTEER, VOLUNTEERS = VolunteerOut(), page_schema(VolunteerOut)()
UNIT, UNITS = UnitOut(), page_schema(UnitOut)()
IMPORT_RESULT, STRUCTURE_RESULT = ImportResult(), StructureImportResult()
CADRE, CADRES, GRID = CadreOut(), page_schema(CadreOut)(), GridOut()
INDICATOR_PERIOD = PeriodQuery()
CANDIDATES, SOCIAL_WORKER, COUNTS = CandidateOut(many=True), SocialWorkerOut(), RegistryCounts()
STRUCTURE_IMPORTS = {
    "places": bulkload.import_places,
    "organisations": bulkload.import_organisations,
    "teams": bulkload.import_teams,
    "cadres": bulkload.import_cadres,
}


class RegistryService(AuditLogRpc):
    name = "registry"
    metrics_port = METRICS_PORTS["registry"]
    audit_readers = AUDIT_READERS

    db = Database(Base.metadata, EVENTS)
    caller = Caller()
    metrics = Instrumentation()
    traces = Tracing()  # one span per worker when OTLP_ENDPOINT is set (yilin.tracing)
    pii = PersonalDataKey()

    @rpc
    def ping(self) -> str:
        return "pong"

    # places
    @write_rpc
    def create_place(self, payload: dict[str, Any]) -> dict[str, Any]:
        access.require_role(self.caller, permissions.OPERATORS, "create places")
        data = load(PlaceIn(), payload)
        with self.db.transaction() as uow:
            return PLACE.dump(domain.create_place(uow, data))

    @read_rpc
    def get_place(self, place_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return PLACE.dump(domain.get_place(session, place_id))

    @read_rpc
    def list_places(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(PlaceQuery(), query)
        with self.db.read() as session:
            return PLACES.dump(domain.list_places(session, q))

    # organisations
    @write_rpc
    def create_organisation(self, payload: dict[str, Any]) -> dict[str, Any]:
        access.require_role(self.caller, permissions.OPERATORS, "register organisations")
        data = load(OrganisationIn(), payload)
        with self.db.transaction() as uow:
            return ORGANISATION.dump(domain.create_organisation(uow, data))

    @read_rpc
    def get_organisation(self, organisation_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return ORGANISATION.dump(domain.get_organisation(session, organisation_id))

    @read_rpc
    def list_organisations(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(OrganisationQuery(), query)
        with self.db.read() as session:
            return ORGANISATIONS.dump(domain.list_organisations(session, q))

    # teams
    @write_rpc
    def create_team(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(TeamIn(), payload)
        access.team_creation(self.caller, data["organisation_id"])
        with self.db.transaction() as uow:
            return TEAM.dump(domain.create_team(uow, data))

    @read_rpc
    def get_team(self, team_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return TEAM.dump(domain.get_team(session, team_id))

    @read_rpc
    def list_teams(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(TeamQuery(), query)
        with self.db.read() as session:
            return TEAMS.dump(domain.list_teams(session, q))

    @rpc
    def find_teams(self, community_id: str, skill: str | None = None) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return TEAM_LIST.dump(domain.find_teams(session, community_id, skill))

    @rpc
    def caller_scope(self) -> dict[str, list[str]]:
        """The teams and communities the caller's identity reaches (for other services' reads)."""
        with self.db.read() as session:
            return access.caller_scope(session, self.caller)

    @read_rpc
    def team_members(self, team_id: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            members = domain.team_members(session, team_id)
            access.team_members_read(session, self.caller, team_id)
            return MEMBER_LIST.dump(members)

    @write_rpc
    def add_member(self, team_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(MembershipIn(), payload)
        with self.db.transaction() as uow:
            access.membership_change(uow.session, self.caller, team_id)
            return MEMBERSHIP.dump(domain.add_member(uow, team_id, data))

    @write_rpc
    def remove_member(self, team_id: str, volunteer_id: str) -> None:
        with self.db.transaction() as uow:
            access.membership_change(uow.session, self.caller, team_id)
            domain.remove_member(uow, team_id, volunteer_id)

    # volunteers
    @write_rpc
    def register_volunteer(self, payload: dict[str, Any]) -> dict[str, Any]:
        (payload,) = access.volunteer_registration(self.caller, [payload])
        data = load(VolunteerIn(), payload)
        with self.db.transaction() as uow:
            return VOLUNTEER.dump(volunteers.register_volunteer(uow, self.pii, data))

    @read_rpc
    def get_volunteer(self, volunteer_id: str) -> dict[str, Any]:
        with self.db.rows() as reader:
            volunteer = volunteers.get_volunteer(reader, volunteer_id)
        access.volunteer_read(self.caller, volunteer_id)
        return VOLUNTEER.dump(volunteer)

    @write_rpc
    def update_volunteer(
        self, volunteer_id: str, payload: dict[str, Any], if_match: list[str] | None = None
    ) -> dict[str, Any]:
        patch = load(VolunteerPatch(), payload)
        with self.db.transaction() as uow:
            access.volunteer_change(uow.session, self.caller, volunteer_id)
            return VOLUNTEER.dump(
                volunteers.update_volunteer(
                    uow, self.pii, volunteer_id, patch, lambda view: require_match(if_match, VOLUNTEER.dump(view))
                )
            )

    @read_rpc
    def list_volunteers(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(VolunteerQuery(), query)
        with self.db.read() as session:
            return VOLUNTEERS.dump(volunteers.list_volunteers(session, q))

    @write_rpc
    def import_volunteers(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        if isinstance(rows, list):  # anything else is refused by the import, naming the field
            rows = access.volunteer_registration(self.caller, rows)
        else:
            access.require_role(self.caller, access.MANAGERS, "register volunteers")
        with self.db.transaction() as uow:
            return IMPORT_RESULT.dump(volunteers.import_volunteers(uow, self.pii, rows))

    # service units
    @write_rpc
    def form_unit(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(UnitIn(), payload)
        access.unit_formation(self.caller, data)
        with self.db.transaction() as uow:
            return UNIT.dump(domain.form_unit(uow, data))

    @read_rpc
    def get_unit(self, unit_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return UNIT.dump(domain.get_unit(session, unit_id))

    @read_rpc
    def list_units(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(UnitQuery(), query)
        with self.db.read() as session:
            return UNITS.dump(domain.list_units(session, q))

    # the district's structure: grids, cadres, dispatch candidates, social workers
    @read_rpc
    def get_grid(self, grid_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return GRID.dump(structure.get_grid(session, grid_id))

    @write_rpc
    def create_cadre(self, payload: dict[str, Any]) -> dict[str, Any]:
        access.require_role(self.caller, access.OPERATORS, "place cadres on grids")
        data = load(CadreIn(), payload)
        with self.db.transaction() as uow:
            return CADRE.dump(structure.create_cadre(uow, data))

    @read_rpc
    def list_cadres(self, query: dict[str, Any]) -> dict[str, Any]:
        q = load(CadreQuery(), query)
        with self.db.read() as session:
            return CADRES.dump(structure.list_cadres(session, q))

    @rpc
    def find_candidates(self, community_id: str, skill: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return CANDIDATES.dump(structure.find_candidates(session, community_id, skill))

    @rpc
    def get_partner(self, organisation_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            return structure.get_partner(session, organisation_id)

    @rpc
    def volunteer_statuses(self, volunteer_ids: list[str]) -> dict[str, str]:
        with self.db.read() as session:
            return structure.volunteer_statuses(session, volunteer_ids)

    @rpc
    def find_social_worker(self, community_id: str, exclude: list[str] | None = None) -> dict[str, Any]:
        with self.db.read() as session:
            return SOCIAL_WORKER.dump(structure.find_social_worker(session, community_id, exclude or ()))

    @read_rpc
    def counts(self) -> dict[str, Any]:
        with self.db.read() as session:
            return COUNTS.dump(structure.counts(session))

    @rpc
    def indicator_counts(self, query: dict[str, Any]) -> dict[str, int]:
        """The registry's part of the district indicators: what it holds now, whatever the
        period (aggregates only: any verified caller)."""
        load(INDICATOR_PERIOD, query)
        with self.db.read() as session:
            held = structure.counts(session)
        return {name: held[name] for name in FIGURES["registry"]}

    @write_rpc
    def import_structure(self, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Bulk places, organisations, teams or cadres (``kind``), rows naming each other by code."""
        access.require_role(self.caller, access.OPERATORS, "import the district's structure")
        if kind not in STRUCTURE_IMPORTS:
            raise InvalidInput(f"unknown import kind {kind}", {"kind": [f"one of: {', '.join(STRUCTURE_IMPORTS)}"]})
        with self.db.transaction() as uow:
            return STRUCTURE_RESULT.dump(STRUCTURE_IMPORTS[kind](uow, rows))
