"""What a volunteer's national record (《志愿服务记录与证明出具办法》) is read from: their
verified entries, running total, star levels reached, teams, training and commendations.
Plain reads; nothing is locked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from services.hours.models import Commendation, Entry, StarChange, TeamMember, Training, VolunteerTotal, VolunteerView
from services.hours.store.base import StoreBase


@dataclass(frozen=True, slots=True)
class RecordRows:
    """The rows of one volunteer's record, each part in the order the record lists it."""

    entries: list[Entry]  # verified, by day served, start and id
    total: VolunteerTotal | None  # none until anything was credited
    stars: list[StarChange]  # levels reached (never the losses), oldest first
    team_ids: list[str]  # sorted
    trainings: list[Training]  # by completion day
    awards: list[Commendation]  # by award day


class RecordStore(StoreBase):
    """The reads of a volunteer's record."""

    def record_rows(self, volunteer_id: str) -> RecordRows | None:
        """Everything the record of ``volunteer_id`` shows; ``None`` when the volunteer is
        neither in the registry's projection nor holds a total."""
        session = self.session
        if session.get(VolunteerView, volunteer_id) is None and session.get(VolunteerTotal, volunteer_id) is None:
            return None
        entries = session.scalars(
            select(Entry)
            .where(Entry.volunteer_id == volunteer_id, Entry.status == "verified")
            .order_by(Entry.served_on, Entry.start_minute, Entry.id)
        ).all()
        total = session.get(VolunteerTotal, volunteer_id)
        stars = session.scalars(
            select(StarChange)
            .where(StarChange.volunteer_id == volunteer_id, StarChange.level > StarChange.previous_level)
            .order_by(StarChange.at, StarChange.id)
        ).all()
        teams = sorted(session.scalars(select(TeamMember.team_id).where(TeamMember.volunteer_id == volunteer_id)))
        trainings = session.scalars(
            select(Training)
            .where(Training.volunteer_id == volunteer_id)
            .order_by(Training.completed_on, Training.activity_id)
        ).all()
        awards = session.scalars(
            select(Commendation)
            .where(Commendation.volunteer_id == volunteer_id)
            .order_by(Commendation.awarded_on, Commendation.id)
        ).all()
        return RecordRows(list(entries), total, list(stars), teams, list(trainings), list(awards))
