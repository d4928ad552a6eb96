"""Dispatch's ranking rules, as plain functions (no database, no broker): who may take a
ticket and in what order, each suggestion with the reasons for its place.

A candidate is a team or a partner organisation as the registry describes it (see
``registry.find_candidates``): it offers the ticket's skill and covers its community,
from home, by declaration, or district-wide. The tickets service adds what only it
knows: each candidate's open tickets and its SLA record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# Points per criterion. Skill and coverage outweigh a few open tickets; a heavily
# loaded team falls below an idle one that covers the community from further away.
SKILL_POINTS = {"skill": 40, "domain": 30}
COVERAGE_POINTS = {"home": 20, "covers": 12, "district": 6}
POINTS_PER_OPEN_TICKET = -8
POINTS_FOR_FULL_BREACH_RATE = -20  # a record of every ticket late
MIN_HISTORY = 3  # fewer finished tickets than this say nothing about a team yet


@dataclass(frozen=True)
class SlaRecord:
    """A candidate's finished (assigned) tickets and how many of them missed a deadline."""

    finished: int = 0
    breached: int = 0


def skill_match(candidate: Mapping[str, Any], skill: str) -> str | None:
    """How a candidate matches the skill: ``"skill"`` (offers it), ``"domain"`` (its
    professional domain is that skill) or ``None`` (it does not)."""
    if skill in (candidate.get("skills") or ()):
        return "skill"
    if candidate.get("domain") == skill:
        return "domain"
    return None


def eligible(candidate: Mapping[str, Any], skill: str, professional_only: bool) -> bool:
    """A candidate without the skill is never suggested; a ticket for a social worker
    goes to professional teams only (not to a paid partner)."""
    if skill_match(candidate, skill) is None:
        return False
    if professional_only:
        return candidate.get("kind") == "team" and bool(candidate.get("professional"))
    return True


def score(candidate: Mapping[str, Any], skill: str, open_tickets: int, record: SlaRecord) -> tuple[int, list[str]]:
    """The candidate's points and one reason per criterion, in the order they count."""
    match = skill_match(candidate, skill)
    coverage = candidate.get("coverage", "home")
    points = SKILL_POINTS[match] if match else 0
    reasons = [
        f"skill: offers {skill} (+{points})" if match == "skill" else f"skill: professional domain {skill} (+{points})"
    ]
    covered = COVERAGE_POINTS.get(coverage, 0)
    points += covered
    reasons.append(
        {
            "home": "coverage: based in the community",
            "covers": "coverage: declares it covers the community",
            "district": "coverage: serves the whole district",
        }.get(coverage, f"coverage: {coverage}")
        + f" (+{covered})"
    )
    load = open_tickets * POINTS_PER_OPEN_TICKET
    points += load
    reasons.append(f"load: {open_tickets} open ticket{'s' if open_tickets != 1 else ''} ({load:+d})")
    if record.finished >= MIN_HISTORY:
        rate = record.breached / record.finished
        sla = round(rate * POINTS_FOR_FULL_BREACH_RATE)
        points += sla
        reasons.append(f"sla: {record.breached} of {record.finished} tickets late ({sla:+d})")
    else:
        reasons.append(
            f"sla: {record.finished} finished ticket{'s' if record.finished != 1 else ''}, too few to judge (+0)"
        )
    return points, reasons


def rank(
    candidates: list[Mapping[str, Any]],
    skill: str,
    professional_only: bool,
    loads: Mapping[str, int],
    records: Mapping[str, SlaRecord],
) -> list[dict[str, Any]]:
    """Eligible candidates, best first (ties: fewer open tickets, more members, code)."""
    ranked = []
    for c in candidates:
        if not eligible(c, skill, professional_only):
            continue
        open_tickets = loads.get(c["id"], 0)
        points, reasons = score(c, skill, open_tickets, records.get(c["id"], SlaRecord()))
        ranked.append(
            {
                "kind": c.get("kind", "team"),
                "team_id": c["id"] if c.get("kind", "team") == "team" else None,
                "partner_id": c["id"] if c.get("kind") == "partner" else None,
                "code": c["code"],
                "name": c["name"],
                "professional": bool(c.get("professional")),
                "member_count": int(c.get("member_count") or 0),
                "coverage": c.get("coverage", "home"),
                "open_tickets": open_tickets,
                "score": points,
                "reasons": reasons,
            }
        )
    return sorted(ranked, key=lambda r: (-r["score"], r["open_tickets"], -r["member_count"], r["code"]))
