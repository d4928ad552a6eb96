"""What the hour ledger's operations hand back to the service: entries and sheets as
typed dictionaries its output schemas dump."""

from __future__ import annotations

from datetime import date, datetime
from typing import TypedDict

from services.hours import rules
from services.hours.models import AttendanceSheet, Entry
from services.hours.store import LedgerStore


class EntryView(TypedDict):
    """An entry as the service hands it to its output schema (``EntryOut``)."""

    id: str
    volunteer_id: str
    source: str
    source_id: str
    organisation_id: str | None
    team_id: str | None
    community_id: str | None
    served_on: date
    start_time: str | None
    end_time: str | None
    minutes: int
    content: str
    status: str
    corrects_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    reason_code: str | None
    reason: str | None
    created_at: datetime


class SheetView(TypedDict):
    """An attendance sheet with its entries (``SheetOut``)."""

    id: str
    organisation_id: str
    activity: str
    served_on: date
    place: str
    community_id: str
    content: str
    submitted_by: str
    entries: list[EntryView]


def entry_view(entry: Entry) -> EntryView:
    return {
        "id": entry.id,
        "volunteer_id": entry.volunteer_id,
        "source": entry.source,
        "source_id": entry.source_id,
        "organisation_id": entry.organisation_id,
        "team_id": entry.team_id,
        "community_id": entry.community_id,
        "served_on": entry.served_on,
        "start_time": rules.clock_text(entry.start_minute),
        "end_time": rules.clock_text(entry.end_minute),
        "minutes": entry.minutes,
        "content": entry.content,
        "status": entry.status,
        "corrects_id": entry.corrects_id,
        "decided_by": entry.decided_by,
        "decided_at": entry.decided_at,
        "reason_code": entry.reason_code,
        "reason": entry.reason,
        "created_at": entry.created_at,
    }


def sheet_view(store: LedgerStore, sheet: AttendanceSheet) -> SheetView:
    return {
        "id": sheet.id,
        "organisation_id": sheet.organisation_id,
        "activity": sheet.activity,
        "served_on": sheet.served_on,
        "place": sheet.place,
        "community_id": sheet.community_id,
        "content": sheet.content,
        "submitted_by": sheet.submitted_by,
        "entries": [entry_view(e) for e in store.sheet_entries(sheet.id)],
    }
