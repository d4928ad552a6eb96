"""The rules of residents' voice, pure: suggestion topics and their answer deadline,
mediation outcomes and satisfaction, beneficiary groups, and the month a fact counts
in. No database, no broker: the store and the entrypoints call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# 益邻·心声: what residents raise, classified once.
TOPICS = (
    "parking",
    "environment",
    "elderly_care",
    "children",
    "safety",
    "facilities",
    "property_management",
    "culture_sports",
    "employment",
    "other",
)
# How a suggestion came in: door to door (a volunteer or cadre writes it down for the
# resident) or online (the resident's own).
SUGGESTION_CHANNELS = ("door_to_door", "online")
SUGGESTION_STATES = ("open", "answered", "merged")
ANSWER_DAYS = 7  # the resident hears back within a week
# What a suggestion can turn into; the target lives in its own service, linked by id.
LINK_KINDS = ("ticket", "fund_disbursement", "activity")

# Mediation of disputes (信访 social workers).
OUTCOMES = ("agreement", "referral", "withdrawn")
SATISFIED_AT = 4  # a rating of 4 or 5 (of 5) counts as satisfied

# Beneficiary groups, the district's closed vocabulary ("一老一小", new-employment
# workers, people in difficulty). Tickets carry them; any service may name them.
BENEFICIARY_GROUPS = (
    "elderly_living_alone",
    "children_in_difficulty",
    "new_employment_workers",
    "people_in_difficulty",
)


class VoiceRuleError(ValueError):
    """A rule refused the change: ``field`` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def answer_due(collected_at: datetime, days: float = ANSWER_DAYS) -> datetime:
    """When the resident must have an answer by."""
    return collected_at + timedelta(days=days)


def answered_on_time(answered_at: datetime | None, due_at: datetime) -> bool:
    return answered_at is not None and answered_at <= due_at


def overdue(state: str, due_at: datetime, escalated: bool, now: datetime) -> bool:
    """An open suggestion past its answer deadline and not yet escalated."""
    return state == "open" and not escalated and due_at < now


def check_merge(source_id: str, source_state: str, target_id: str, target_state: str) -> None:
    """A repeat is merged into a live suggestion, never into itself or a merged one."""
    if source_id == target_id:
        raise VoiceRuleError("a suggestion cannot be merged into itself", "into_id")
    if source_state == "merged":
        raise VoiceRuleError("this suggestion is merged already", "suggestion_id")
    if target_state == "merged":
        raise VoiceRuleError("merge into the suggestion it was merged into", "into_id")


def check_answer(state: str) -> None:
    if state != "open":
        raise VoiceRuleError(f"a suggestion that is {state} cannot be answered", "state")


def check_link(state: str) -> None:
    if state == "merged":
        raise VoiceRuleError("act on the suggestion it was merged into", "suggestion_id")


def mask_name(name: str) -> str:
    """张三丰 → 张**: the family name stays so a caller can address the person."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def month_of(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m")


@dataclass(frozen=True)
class PartyRating:
    people: int  # how many residents the party speaks for (a group dispute's side)
    rating: int | None


def satisfaction_rate(parties: list[PartyRating]) -> float | None:
    """Share of the people on rated parties whose party was satisfied, each party
    weighted by the people it speaks for; ``None`` when no party rated."""
    rated = [p for p in parties if p.rating is not None]
    people = sum(p.people for p in rated)
    if not people:
        return None
    return round(sum(p.people for p in rated if (p.rating or 0) >= SATISFIED_AT) / people, 4)


def check_close(state: str, outcome: str, parties: int, ratings: dict[int, int]) -> None:
    """A case closes once, with a known outcome, rated by parties of the case only."""
    if state != "open":
        raise VoiceRuleError("the case is closed already", "state")
    if outcome not in OUTCOMES:
        raise VoiceRuleError(f"outcome is one of {', '.join(OUTCOMES)}", "outcome")
    strangers = sorted(set(ratings) - set(range(1, parties + 1)))
    if strangers:
        raise VoiceRuleError(f"no party numbered {strangers[0]} in this case", "satisfaction")


# Who sees which suggestions: the district's operators, auditors, the fund committee and
# the platform all; staff of an organisation the communities it serves (the registry's
# scope); a volunteer or team lead those they collected; a resident those they raised.
SEE_ALL_SUGGESTIONS = ("operator", "auditor", "fund_committee", "service")
SCOPED_STAFF = ("org_admin", "social_worker")


@dataclass(frozen=True)
class Reach:
    everything: bool = False
    communities: tuple[str, ...] = ()
    collector: str | None = None  # suggestions this subject wrote down
    resident: str | None = None  # suggestions this resident raised


def reach(role: str, subject: str, communities: tuple[str, ...] = ()) -> Reach:
    if role in SEE_ALL_SUGGESTIONS:
        return Reach(everything=True)
    if role in SCOPED_STAFF:
        return Reach(communities=communities, collector=subject)
    if role == "resident":
        return Reach(resident=subject)
    return Reach(collector=subject)


def within(r: Reach, community_id: str, collected_by: str, residents: set[str]) -> bool:
    """Whether a suggestion (in ``community_id``, written down by ``collected_by``, raised
    by the resident subjects ``residents``) is within the reach ``r``."""
    return (
        r.everything
        or community_id in r.communities
        or (r.collector is not None and collected_by == r.collector)
        or (r.resident is not None and r.resident in residents)
    )


def case_within(r: Reach, community_id: str, social_worker_id: str) -> bool:
    """Whether a mediation case is within reach: its community is the caller's
    organisation's, or the caller is its mediating social worker."""
    return (
        r.everything or community_id in r.communities or (r.collector is not None and social_worker_id == r.collector)
    )
