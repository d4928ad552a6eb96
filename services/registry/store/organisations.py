"""The registry's SQL about organisations, their teams and the teams' members, and the
1+1+1+N service units. Nothing here takes a row lock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select

from services.registry.models import Membership, Organisation, ServiceUnit, Team, UnitVolunteer, Volunteer, utcnow
from services.registry.schemas import PARTNER_KINDS
from services.registry.store.base import Render, StoreBase
from yilin.bulk import insert_rows, stored
from yilin.paging import paginate
from yilin.rows import get_or_404


class OrganisationStore(StoreBase):
    """Organisations, teams, memberships and service units."""

    # -- organisations ------------------------------------------------------------------
    def organisation(self, organisation_id: Any, field: str = "organisation_id") -> Organisation:
        """The organisation ``organisation_id``, or a 404 naming ``field``."""
        return get_or_404(self.session, Organisation, organisation_id, field)

    def find_organisation(self, organisation_id: str) -> Organisation | None:
        """The organisation ``organisation_id``, if there is one."""
        return self.session.get(Organisation, organisation_id)

    def add_organisation(self, **columns: Any) -> Organisation:
        """A new organisation, flushed (its id assigned)."""
        org = Organisation(**columns)
        self.session.add(org)
        self.session.flush()
        return org

    def list_organisations(self, query: dict[str, Any], render: Render) -> dict[str, Any]:
        """One page of organisations filtered by ``kind`` and ``community_id``, in id order."""
        stmt = select(Organisation)
        if query.get("kind"):
            stmt = stmt.where(Organisation.kind == query["kind"])
        if query.get("community_id"):
            stmt = stmt.where(Organisation.community_id == str(query["community_id"]))
        return paginate(self.session, stmt, Organisation.id, query["limit"], query.get("cursor"), render)

    def organisation_ids(self) -> set[str]:
        """Every organisation's id (the volunteer import checks a batch against them)."""
        return set(self.session.scalars(select(Organisation.id)))

    def partners_serving(self, community_id: str, declared: set[str]) -> list[Organisation]:
        """Partner organisations based in ``community_id``, district-wide, or among
        ``declared`` (the holders covering it), in code order."""
        serving = [Organisation.community_id == community_id, Organisation.district_wide.is_(True)]
        if declared:
            serving.append(Organisation.id.in_(declared))
        return list(
            self.session.scalars(
                select(Organisation)
                .where(Organisation.kind.in_(PARTNER_KINDS), or_(*serving))
                .order_by(Organisation.code)
            )
        )

    def organisations_by_code(self, codes: Iterable[str]) -> dict[str, str]:
        """Stored organisations among ``codes``: code → id, 1,000 codes a statement."""
        return stored(self.session, Organisation.__table__, "code", codes, "id")

    def insert_organisations(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert new organisations (every column but ``created_at``, which is now), in bulk."""
        insert_rows(self.session, Organisation.__table__, rows, same={"created_at": utcnow()})

    # -- teams --------------------------------------------------------------------------
    def team(self, team_id: Any, field: str = "team_id") -> Team:
        """The team ``team_id``, or a 404 naming ``field``."""
        return get_or_404(self.session, Team, team_id, field)

    def find_team(self, team_id: Any) -> Team | None:
        """The team ``team_id``, if there is one."""
        return self.session.get(Team, str(team_id))

    def add_team(self, **columns: Any) -> Team:
        """A new team, flushed (its id assigned)."""
        team = Team(**columns)
        self.session.add(team)
        self.session.flush()
        return team

    def list_teams(self, query: dict[str, Any], limit: int, render: Render) -> dict[str, Any]:
        """Up to ``limit`` teams filtered by ``community_id``, ``organisation_id`` and
        ``professional``, in id order after ``query["cursor"]``."""
        stmt = select(Team)
        for key in ("community_id", "organisation_id"):
            if query.get(key):
                stmt = stmt.where(getattr(Team, key) == str(query[key]))
        if query.get("professional") is not None:
            stmt = stmt.where(Team.professional == query["professional"])
        return paginate(self.session, stmt, Team.id, limit, query.get("cursor"), render)

    def teams_in(self, community_id: str) -> list[Team]:
        """The teams based in ``community_id``, in code order."""
        return list(self.session.scalars(select(Team).where(Team.community_id == community_id).order_by(Team.code)))

    def teams_serving(self, community_id: str, declared: set[str]) -> list[Team]:
        """Teams based in ``community_id``, district-wide, or among ``declared`` (the
        holders covering it), in code order."""
        serving = [Team.community_id == community_id, Team.district_wide.is_(True)]
        if declared:
            serving.append(Team.id.in_(declared))
        return list(self.session.scalars(select(Team).where(or_(*serving)).order_by(Team.code)))

    def team_communities(self, organisation_id: str) -> list[str | None]:
        """The home community of each of the organisation's teams."""
        return list(self.session.scalars(select(Team.community_id).where(Team.organisation_id == organisation_id)))

    def teams_by_code(self, codes: Iterable[str]) -> dict[str, str]:
        """Stored teams among ``codes``: code → id, 1,000 codes a statement."""
        return stored(self.session, Team.__table__, "code", codes, "id")

    def insert_teams(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert new teams (every column but ``created_at``, which is now), in bulk."""
        insert_rows(self.session, Team.__table__, rows, same={"created_at": utcnow()})

    # -- memberships ----------------------------------------------------------------------
    def membership(self, team_id: str, volunteer_id: str) -> Membership | None:
        """The volunteer's membership of the team, if any."""
        return self.session.get(Membership, (team_id, volunteer_id))

    def add_membership(self, **columns: Any) -> Membership:
        """A new membership, flushed (its joining time set)."""
        membership = Membership(**columns)
        self.session.add(membership)
        self.session.flush()
        return membership

    def remove_membership(self, membership: Membership) -> None:
        """Delete ``membership`` when the session next flushes."""
        self.session.delete(membership)

    def member_count(self, team_id: str) -> int:
        """How many members the team has."""
        count = self.session.scalar(select(func.count()).select_from(Membership).where(Membership.team_id == team_id))
        return count or 0

    def member_counts(self, team_ids: Sequence[str]) -> dict[str, int]:
        """Members per team among ``team_ids``; teams without members are absent."""
        if not team_ids:
            return {}
        return dict(
            self.session.execute(
                select(Membership.team_id, func.count())
                .where(Membership.team_id.in_(list(team_ids)))
                .group_by(Membership.team_id)
            ).all()
        )

    def members_with_status(self, team_id: str) -> list[tuple[Membership, str]]:
        """The team's memberships, in joining order, each with the volunteer's status."""
        rows = self.session.execute(
            select(Membership, Volunteer.status)
            .join(Volunteer, Volunteer.id == Membership.volunteer_id)
            .where(Membership.team_id == team_id)
            .order_by(Membership.joined_at)
        ).all()
        return [(m, status) for m, status in rows]

    def memberships_of(self, volunteer_id: str) -> list[tuple[str, str]]:
        """(team id, role) of each team the volunteer belongs to."""
        return [
            (team_id, role)
            for team_id, role in self.session.execute(
                select(Membership.team_id, Membership.role).where(Membership.volunteer_id == volunteer_id)
            )
        ]

    # -- service units ----------------------------------------------------------------------
    def unit(self, unit_id: Any) -> ServiceUnit:
        """The service unit ``unit_id``, or a 404 naming ``unit_id``."""
        return get_or_404(self.session, ServiceUnit, unit_id, "unit_id")

    def add_unit(self, volunteer_ids: Sequence[str], **columns: Any) -> ServiceUnit:
        """A new service unit with its volunteers (one statement for them all), flushed."""
        unit = ServiceUnit(**columns)
        self.session.add(unit)
        self.session.flush()
        self.session.execute(insert(UnitVolunteer), [{"unit_id": unit.id, "volunteer_id": v} for v in volunteer_ids])
        return unit

    def unit_volunteers(self, unit_id: str) -> list[str]:
        """The ids of the unit's volunteers."""
        return list(self.session.scalars(select(UnitVolunteer.volunteer_id).where(UnitVolunteer.unit_id == unit_id)))

    def volunteers_of_units(self, unit_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(unit id, volunteer id) of every volunteer of the units ``unit_ids``."""
        return [
            (unit_id, vid)
            for unit_id, vid in self.session.execute(
                select(UnitVolunteer.unit_id, UnitVolunteer.volunteer_id).where(
                    UnitVolunteer.unit_id.in_(list(unit_ids))
                )
            )
        ]

    def list_units(self, query: dict[str, Any], render: Render) -> dict[str, Any]:
        """One page of service units filtered by ``community_id``, in id order."""
        stmt = select(ServiceUnit)
        if query.get("community_id"):
            stmt = stmt.where(ServiceUnit.community_id == str(query["community_id"]))
        return paginate(self.session, stmt, ServiceUnit.id, query["limit"], query.get("cursor"), render)
