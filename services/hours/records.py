"""A volunteer's record in the national structure (《志愿服务记录与证明出具办法》):
personal information, service, training, commendations and evaluation; as JSON or CSV."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NotRequired, TypedDict

from sqlalchemy.orm import Session

from services.district import LOCAL_TIME
from services.hours.permissions import DISTRICT_READERS, ORGANISATION_STAFF
from services.hours.rules import clock_text, reads_volunteer
from services.hours.store import RecordStore
from yilin.errors import Forbidden, NotFound
from yilin.exports import SafeWriter
from yilin.identity import Identity


class Personal(TypedDict):
    volunteer_id: str
    name: str
    id_number: str  # masked
    volunteer_number: str
    community_id: str | None
    team_ids: list[str]


class Service(TypedDict):
    """One verified entry (``ServiceOut``)."""

    entry_id: str
    served_on: date
    content: str
    source: str
    organisation_id: str | None
    community_id: str | None
    start_time: str | None
    end_time: str | None
    minutes: int
    verified_at: datetime | None


class Qualification(TypedDict):
    """A training session attended, or a certification the registry holds (``TrainingOut``)."""

    kind: str
    number: str | None
    issued_on: date | str | None  # a certification's as the registry's view has it
    title: NotRequired[str]  # a session's
    organisation_id: NotRequired[str | None]
    minutes: NotRequired[int]


class Honour(TypedDict):
    """A commendation awarded, or a star level reached (``CommendationOut``)."""

    kind: str
    level: int | None
    at: datetime
    title: NotRequired[str]  # an award's
    award_level: NotRequired[str]
    awarding_body: NotRequired[str]
    organisation_id: NotRequired[str | None]


class Evaluation(TypedDict):
    verified_minutes: int
    star_level: int
    ratings: int
    average_rating: Decimal | None


class VolunteerRecord(TypedDict):
    """A volunteer's record (``VolunteerRecordOut``), the CSV's source too."""

    personal: Personal
    service: list[Service]
    training: list[Qualification]
    commendations: list[Honour]
    evaluation: Evaluation


def authorise(caller: Identity, volunteer: dict[str, Any], issuer: str | None = None) -> None:
    """Refuse unless the caller may read this volunteer's record (or a certificate
    ``issuer`` issued them): ``volunteer`` is the registry's view, so a missing volunteer
    was already 404 and this is 403."""
    organisations = (volunteer.get("organisation_id"), issuer)
    if not reads_volunteer(caller, volunteer["id"], organisations, DISTRICT_READERS, ORGANISATION_STAFF):
        raise Forbidden(
            "a volunteer's record is theirs and their own organisation's to read",
            {"volunteer_id": ["not yours, nor your organisation's volunteer"]},
        )


def volunteer_record(session: Session, volunteer: dict[str, Any]) -> VolunteerRecord:
    """``volunteer`` is the registry's view (name and masked ID number)."""
    volunteer_id = volunteer["id"]
    rows = RecordStore(session).record_rows(volunteer_id)
    if rows is None:
        raise NotFound("unknown volunteer", {"volunteer_id": ["not found"]})
    total = rows.total
    ratings: dict[str, int] = {e.source_id: e.rating for e in rows.entries if e.source == "ticket" and e.rating}
    average = (
        (Decimal(sum(ratings.values())) / len(ratings)).quantize(Decimal("0.01"), ROUND_HALF_UP) if ratings else None
    )
    return {
        "personal": {
            "volunteer_id": volunteer_id,
            "name": volunteer["name"],
            "id_number": volunteer["id_number"],
            "volunteer_number": volunteer["number"],
            "community_id": volunteer.get("community_id"),
            "team_ids": rows.team_ids,
        },
        "service": [
            {
                "entry_id": e.id,
                "served_on": e.served_on,
                "content": e.content,
                "source": e.source,
                "organisation_id": e.organisation_id,
                "community_id": e.community_id,
                "start_time": clock_text(e.start_minute),
                "end_time": clock_text(e.end_minute),
                "minutes": e.minutes,
                "verified_at": e.decided_at,
            }
            for e in rows.entries
        ],
        "training": [
            Qualification(
                kind="training",
                number=None,
                issued_on=t.completed_on,
                title=t.title,
                organisation_id=t.organisation_id,
                minutes=t.minutes,
            )
            for t in rows.trainings
        ]
        + [
            Qualification(kind=c["kind"], number=c.get("number"), issued_on=c.get("issued_on"))
            for c in volunteer.get("certifications") or []
        ],
        "commendations": [
            Honour(
                kind="commendation",
                level=None,
                at=datetime.combine(a.awarded_on, time(0), LOCAL_TIME),
                title=a.title,
                award_level=a.level,
                awarding_body=a.awarding_body,
                organisation_id=a.organisation_id,
            )
            for a in rows.awards
        ]
        + [Honour(kind="star_level", level=s.level, at=s.at) for s in rows.stars],
        "evaluation": {
            "verified_minutes": total.verified_minutes if total else 0,
            "star_level": total.star_level if total else 0,
            "ratings": len(ratings),
            "average_rating": average,
        },
    }


CSV_COLUMNS = ("section", "date", "item", "detail", "organisation_id", "minutes")


def record_csv(record: VolunteerRecord) -> str:
    """The same record as one CSV table, a ``section`` column naming each part."""
    out = io.StringIO()
    writer = SafeWriter(out)  # free text (content, kinds) stays text in a spreadsheet
    writer.writerow(CSV_COLUMNS)
    personal = record["personal"]
    for key in ("name", "id_number", "volunteer_number", "community_id"):
        writer.writerow(("personal", "", key, personal[key] or "", "", ""))
    writer.writerow(("personal", "", "team_ids", " ".join(personal["team_ids"]), "", ""))
    for s in record["service"]:
        span = f"{s['start_time']}-{s['end_time']}" if s["start_time"] else ""
        writer.writerow(("service", s["served_on"], s["content"], span, s["organisation_id"] or "", s["minutes"]))
    for t in record["training"]:
        detail = t.get("title") or t["number"] or ""
        writer.writerow(
            (
                "training",
                t["issued_on"] or "",
                t["kind"],
                detail,
                t.get("organisation_id") or "",
                t.get("minutes") or "",
            )
        )
    for c in record["commendations"]:
        detail = (
            f"{c['level']} star"
            if c["level"] is not None
            else f"{c['title']} ({c['award_level']}, {c['awarding_body']})"
        )
        writer.writerow(
            (
                "commendation",
                c["at"].date().isoformat() if hasattr(c["at"], "date") else c["at"],
                c["kind"],
                detail,
                c.get("organisation_id") or "",
                "",
            )
        )
    evaluation = record["evaluation"]
    writer.writerow(("evaluation", "", "verified_minutes", "", "", evaluation["verified_minutes"]))
    writer.writerow(("evaluation", "", "star_level", evaluation["star_level"], "", ""))
    writer.writerow(
        (
            "evaluation",
            "",
            "average_rating",
            "" if evaluation["average_rating"] is None else evaluation["average_rating"],
            "",
            "",
        )
    )
    return out.getvalue()
