"""The registry's SQL about volunteers: their views (one statement each way), registration
and updates, the set-based import, and the certified social workers an escalation names.

The one row lock of the registry is here: an update locks the volunteer's row
(``SELECT … FOR UPDATE``, read afresh) so a concurrent update waits and its precondition
is checked against what it will change."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from services.registry.models import (
    Certification,
    Membership,
    ServiceUnit,
    Team,
    UnitVolunteer,
    Volunteer,
    VolunteerSkill,
)
from services.registry.store.base import Render, StoreBase
from yilin.bulk import insert_rows, stored
from yilin.paging import paginate
from yilin.plainreads import Query, Reader
from yilin.rows import get_or_404, lock_or_404
from yilin.sqljson import json_array_agg, json_object

T = TypeVar("T")
NUMBER_CONSTRAINT = "volunteers_number_key"  # PostgreSQL's name for the unique number
NUMBER_ATTEMPTS = 8  # draws of a whole batch's numbers before a clash is an error


def _view_select() -> Select[Any]:
    # Skills, certifications and teams come back as JSON arrays from correlated subqueries.
    skills = select(json_array_agg(VolunteerSkill.skill)).where(VolunteerSkill.volunteer_id == Volunteer.id)
    certs = select(
        json_array_agg(
            json_object(kind=Certification.kind, number=Certification.number, issued_on=Certification.issued_on)
        )
    ).where(Certification.volunteer_id == Volunteer.id)
    teams = select(json_array_agg(Membership.team_id)).where(Membership.volunteer_id == Volunteer.id)
    return select(
        Volunteer.id,
        Volunteer.number,
        Volunteer.name,
        Volunteer.id_number_masked,
        Volunteer.phone_masked,
        Volunteer.community_id,
        Volunteer.organisation_id,
        Volunteer.party_member,
        Volunteer.status,
        Volunteer.created_at,
        skills.scalar_subquery().label("skills"),
        certs.scalar_subquery().label("certifications"),
        teams.scalar_subquery().label("team_ids"),
    )


# Built once: constructing a statement (and its cache key) costs several times its execution.
# They return plain rows, so they run on the session's connection, past the ORM's layer.
# A volunteer by id is the gateway's hottest read: compiled once, run on the driver's cursor.
_VIEW_BY_ID = Query(_view_select().where(Volunteer.id == bindparam("volunteer_id")))
_VIEWS_BY_IDS = _view_select().where(Volunteer.id.in_(bindparam("ids", expanding=True)))


class VolunteerReads:
    """The volunteer reads made past the session (:mod:`yilin.plainreads`)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def view_row(self, volunteer_id: Any) -> Any | None:
        """One volunteer's view row (the columns of :meth:`VolunteerStore.view_rows`), if
        there is such a volunteer: a single statement."""
        return self.reader.first(_VIEW_BY_ID, {"volunteer_id": str(volunteer_id)})


class VolunteerStore(StoreBase):
    """Volunteers, their skills and certifications, and who among them is a social worker."""

    # -- views ----------------------------------------------------------------------------
    def view_rows(self, volunteer_ids: Sequence[str]) -> list[Row[Any]]:
        """The view rows (columns, skills, certifications and team ids as JSON arrays) of
        ``volunteer_ids``, in any order, with one statement; pending changes are flushed
        first, since the statement runs on the connection where they would not be seen."""
        self.session.flush()
        return list(self.session.connection().execute(_VIEWS_BY_IDS, {"ids": list(volunteer_ids)}))

    # -- one volunteer ----------------------------------------------------------------------
    def volunteer(self, volunteer_id: Any, field: str = "volunteer_id") -> Volunteer:
        """The volunteer ``volunteer_id``, or a 404 naming ``field``."""
        return get_or_404(self.session, Volunteer, volunteer_id, field)

    def find_volunteer(self, volunteer_id: Any) -> Volunteer | None:
        """The volunteer ``volunteer_id``, if there is one."""
        return self.session.get(Volunteer, str(volunteer_id))

    def lock_volunteer(self, volunteer_id: Any) -> Volunteer:
        """The volunteer's row read afresh and locked until the transaction ends, or a 404
        naming ``volunteer_id``."""
        return lock_or_404(self.session, Volunteer, volunteer_id, "volunteer_id")

    def id_number_registered(self, fingerprints: Sequence[str]) -> bool:
        """Whether a volunteer's ID number has one of these fingerprints."""
        stmt = select(Volunteer.id).where(Volunteer.id_number_hash.in_(fingerprints)).limit(1)
        return self.session.scalar(stmt) is not None

    def add_volunteer(self, columns: dict[str, Any], draw: Callable[[int], list[str]]) -> Volunteer:
        """A new volunteer, flushed; its number is drawn again (``draw``) if taken."""

        def add() -> Volunteer:
            volunteer = Volunteer(**columns)
            self.session.add(volunteer)
            self.session.flush()
            return volunteer

        return self._numbered([columns], draw, add)

    def _numbered(
        self, volunteers: Sequence[dict[str, Any]], draw: Callable[[int], list[str]], insert: Callable[[], T]
    ) -> T:
        """``insert()`` the volunteers, drawing new numbers (in place) for as long as one
        is taken: a clash of random numbers is never the caller's conflict.

        On PostgreSQL the insert runs under a savepoint, and a violation of the number's
        uniqueness rolls back to it and draws the batch's numbers again: that covers a
        number stored earlier, one drawn twice in the batch and one a concurrent
        transaction takes first. SQLite has one writer at a time, so numbers checked
        free inside the transaction are still free at its insert (and pysqlite's
        ``SAVEPOINT`` would end the enclosing transaction)."""
        if self.session.get_bind().dialect.name != "postgresql":
            for _ in range(NUMBER_ATTEMPTS):
                numbers = Counter(v["number"] for v in volunteers)
                taken = set(stored(self.session, Volunteer.__table__, "number", numbers))
                clashes = [v for v in volunteers if v["number"] in taken or numbers[v["number"]] > 1]
                if not clashes:
                    break
                for volunteer, number in zip(clashes, draw(len(clashes))):
                    volunteer["number"] = number
            return insert()
        for attempt in range(NUMBER_ATTEMPTS):
            try:
                with self.session.begin_nested():
                    return insert()
            except IntegrityError as exc:
                if attempt + 1 == NUMBER_ATTEMPTS or _constraint(exc) != NUMBER_CONSTRAINT:
                    raise
                for volunteer, number in zip(volunteers, draw(len(volunteers))):
                    volunteer["number"] = number
        raise AssertionError("unreachable: the last attempt returns or raises")

    def write_skills(
        self,
        volunteer_id: str,
        skills: Iterable[str] | None,
        certifications: Iterable[dict[str, Any]] | None,
    ) -> None:
        """Replace the volunteer's skills and certifications; ``None`` leaves them as they are."""
        if skills is not None:
            self.session.execute(delete(VolunteerSkill).where(VolunteerSkill.volunteer_id == volunteer_id))
            rows = [{"volunteer_id": volunteer_id, "skill": s} for s in sorted(set(skills))]
            if rows:
                self.session.execute(insert(VolunteerSkill), rows)
        if certifications is not None:
            self.session.execute(delete(Certification).where(Certification.volunteer_id == volunteer_id))
            rows = [{"id": str(uuid.uuid4()), "volunteer_id": volunteer_id, **c} for c in certifications]
            if rows:
                self.session.execute(insert(Certification), rows)

    # -- many -------------------------------------------------------------------------------
    def list_volunteers(self, query: dict[str, Any], render: Render) -> dict[str, Any]:
        """One page of volunteers filtered by ``community_id``, ``status``, ``skill`` and
        ``team_id``, in id order."""
        stmt = select(Volunteer)
        if query.get("community_id"):
            stmt = stmt.where(Volunteer.community_id == str(query["community_id"]))
        if query.get("status"):
            stmt = stmt.where(Volunteer.status == query["status"])
        if query.get("skill"):
            stmt = stmt.where(
                Volunteer.id.in_(select(VolunteerSkill.volunteer_id).where(VolunteerSkill.skill == query["skill"]))
            )
        if query.get("team_id"):
            stmt = stmt.where(
                Volunteer.id.in_(select(Membership.volunteer_id).where(Membership.team_id == str(query["team_id"])))
            )
        return paginate(self.session, stmt, Volunteer.id, query["limit"], query.get("cursor"), render)

    def active_among(self, volunteer_ids: Sequence[str]) -> set[str]:
        """Those of ``volunteer_ids`` that are registered and active."""
        return set(
            self.session.scalars(
                select(Volunteer.id).where(Volunteer.id.in_(volunteer_ids), Volunteer.status == "active")
            )
        )

    def statuses(self, volunteer_ids: Sequence[str]) -> dict[str, str]:
        """Status of each known volunteer among ``volunteer_ids`` (unknown ones are absent)."""
        if not volunteer_ids:
            return {}
        rows = self.session.execute(select(Volunteer.id, Volunteer.status).where(Volunteer.id.in_(volunteer_ids)))
        return {ident: status for ident, status in rows}

    # -- the import -------------------------------------------------------------------------
    def known_fingerprints(self, fingerprints: Iterable[str]) -> set[str]:
        """Those of ``fingerprints`` a registered ID number has, 1,000 a statement."""
        return set(stored(self.session, Volunteer.__table__, "id_number_hash", fingerprints))

    def insert_volunteers(
        self,
        volunteers: Sequence[dict[str, Any]],
        skills: Sequence[dict[str, Any]],
        certifications: Sequence[dict[str, Any]],
        now: datetime,
        draw: Callable[[int], list[str]],
    ) -> None:
        """Insert new volunteers (every column but the timestamps, both ``now``), then
        their skills and certifications: one statement per table, a ``COPY`` for 100
        rows or more. A volunteer number already taken is drawn again (``draw``)."""
        self._numbered(
            volunteers,
            draw,
            lambda: insert_rows(
                self.session, Volunteer.__table__, volunteers, same={"created_at": now, "updated_at": now}
            ),
        )
        insert_rows(self.session, VolunteerSkill.__table__, skills)
        insert_rows(self.session, Certification.__table__, certifications)

    # -- escalation -------------------------------------------------------------------------
    def _certified(self, certification: str, exclude: Sequence[str]) -> Select[Any]:
        certified = select(Certification.volunteer_id).where(Certification.kind == certification)
        return (
            select(Volunteer.id, Volunteer.name, Volunteer.number)
            .where(Volunteer.status == "active", Volunteer.id.in_(certified), Volunteer.id.not_in(list(exclude)))
            .order_by(Volunteer.number)
            .limit(1)
        )

    def certified_in_units(self, community_id: str, certification: str, exclude: Sequence[str]) -> Row[Any] | None:
        """The first (by number) active volunteer holding ``certification``, not in
        ``exclude``, among the volunteers of the community's service units: (id, name,
        number, unit_id)."""
        units = select(ServiceUnit.id).where(ServiceUnit.community_id == community_id)
        return self.session.execute(
            self._certified(certification, exclude)
            .add_columns(UnitVolunteer.unit_id)
            .join(UnitVolunteer, UnitVolunteer.volunteer_id == Volunteer.id)
            .where(UnitVolunteer.unit_id.in_(units))
        ).first()

    def certified_in_agencies(self, community_id: str, certification: str, exclude: Sequence[str]) -> Row[Any] | None:
        """As :meth:`certified_in_units`, among the members of the teams of the
        social-work agencies of the community's service units: (id, name, number)."""
        agencies = select(ServiceUnit.agency_id).where(ServiceUnit.community_id == community_id)
        agency_teams = select(Team.id).where(Team.organisation_id.in_(agencies))
        members = select(Membership.volunteer_id).where(Membership.team_id.in_(agency_teams))
        return self.session.execute(self._certified(certification, exclude).where(Volunteer.id.in_(members))).first()


def _constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint a PostgreSQL integrity error violated (psycopg2's diagnostics)."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)
