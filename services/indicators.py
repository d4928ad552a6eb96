"""The district indicators' contract between the services and the gateway.

Each service in ``SOURCES`` answers the RPC ``indicator_counts({"from": day, "to": day})``
with aggregates of its own data (a flat ``{name: number}``, no personal data); the
gateway merges them into one report and exports each as a gauge. A new service takes
part by answering that RPC and adding its name here: one line."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from services.district import LOCAL_TIME

SOURCES: tuple[str, ...] = ("registry", "hours", "tickets", "fund", "activities")

# The figures each source answers with, in the district's own terms (the gateway's
# report and the public page list them in this order; a source may add more).
FIGURES: dict[str, tuple[str, ...]] = {
    "registry": (
        "teams",
        "professional_teams",
        "volunteers",
        "certified_social_workers",
        "cadres",
        "partners",
    ),
    "hours": ("verified_minutes", "verified_hours", "volunteers_credited"),
    "tickets": (
        "tickets_resolved",
        "disputes_handled",
        "dispute_satisfaction_rate",
        "suggestions_collected",
        "suggestions_answered",
        "suggestions_answered_on_time",
        "suggestions_acted_on",
    ),
    "fund": ("fund_in_fen", "fund_out_fen"),
    "activities": ("projects", "activities", "beneficiary_visits"),
}


class PeriodQuery(Schema):
    """A period of whole days, both ends inclusive; either end may be left open."""

    from_ = fields.Date(data_key="from", load_default=None, allow_none=True, metadata={"description": "First day."})
    to = fields.Date(load_default=None, allow_none=True, metadata={"description": "Last day (inclusive)."})

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("must not be before from", "to")


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The district's days [first, last] as UTC instants [low, high)."""
    low = datetime(first.year, first.month, first.day, tzinfo=LOCAL_TIME) if first else None
    high = datetime(last.year, last.month, last.day, tzinfo=LOCAL_TIME) + timedelta(days=1) if last else None
    return (low.astimezone(timezone.utc) if low else None), (high.astimezone(timezone.utc) if high else None)
