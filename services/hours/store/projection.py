"""The registry as this service keeps it from the registry's events: volunteers, teams
with their members, organisations. Each row is found or created by its id, so an event
delivered again, or out of order, changes nothing more. Nothing is locked."""

from __future__ import annotations

from sqlalchemy import delete

from services.hours.models import OrganisationView, TeamMember, TeamView, VolunteerView
from services.hours.store.base import StoreBase
from yilin.db import insert_ignoring_conflicts


class ProjectionStore(StoreBase):
    """The writes of the registry's projection."""

    def volunteer(self, volunteer_id: str) -> VolunteerView:
        """The volunteer's row, added to the session if missing (its columns are the caller's to set)."""
        volunteer = self.session.get(VolunteerView, volunteer_id)
        if volunteer is None:
            volunteer = VolunteerView(id=volunteer_id)
            self.session.add(volunteer)
        return volunteer

    def team(self, team_id: str) -> TeamView:
        """The team's row, added to the session if missing."""
        team = self.session.get(TeamView, team_id) or TeamView(id=team_id)
        self.session.add(team)
        return team

    def organisation(self, organisation_id: str) -> OrganisationView:
        """The organisation's row, added to the session if missing."""
        org = self.session.get(OrganisationView, organisation_id) or OrganisationView(id=organisation_id)
        self.session.add(org)
        return org

    def add_member(self, team_id: str, volunteer_id: str) -> None:
        """The volunteer is a member of the team (once, however often announced)."""
        self.session.execute(
            insert_ignoring_conflicts(self.session, TeamMember.__table__).values(
                team_id=team_id, volunteer_id=volunteer_id
            )
        )

    def remove_member(self, team_id: str, volunteer_id: str) -> None:
        """The volunteer is no longer a member of the team (nothing when they were not)."""
        self.session.execute(
            delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.volunteer_id == volunteer_id)
        )
