"""Which tickets a caller sees, and how much of the resident: pure rules over the
caller's identity and the scope the registry reports for it (its teams, the teams it
leads, its organisation's communities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from yilin.identity import Identity

SEE_ALL = ("operator", "auditor", "service")  # the district's operators, read-only auditors, named accounts
STAFF = ("org_admin", "social_worker", "verifier")  # their organisation's communities
NEEDS_SCOPE = STAFF + ("team_lead",)  # roles whose reach the registry reports


@dataclass(frozen=True)
class Visibility:
    """``everything``, or the union of: the resident's own tickets, tickets naming the
    volunteer, tickets of ``teams``, tickets in ``communities``. ``reduced``: the
    resident is shown only as the job needs (no id, the name's first character)."""

    everything: bool = False
    resident: str | None = None
    volunteer: str | None = None
    teams: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    reduced: bool = False


def visibility(caller: Identity, scope: Mapping[str, Any] | None = None) -> Visibility:
    """The tickets ``caller`` sees; a role not named here sees none."""
    scope = scope or {}
    if caller.role in SEE_ALL:
        return Visibility(everything=True)
    if caller.role == "resident":
        return Visibility(resident=caller.subject)
    if caller.role == "volunteer":
        return Visibility(volunteer=caller.subject, reduced=True)
    if caller.role == "team_lead":
        return Visibility(volunteer=caller.subject, teams=tuple(scope.get("teams_led") or ()), reduced=True)
    if caller.role in STAFF:
        return Visibility(communities=tuple(scope.get("communities") or ()))
    return Visibility()


def sees(v: Visibility, ticket: Any, named: set[str]) -> bool:
    """Whether a ticket (with the volunteer ids ``named`` on it) is within ``v``."""
    return (
        v.everything
        or (v.resident is not None and ticket.resident_id == v.resident)
        or (v.volunteer is not None and v.volunteer in named)
        or (ticket.team_id is not None and ticket.team_id in v.teams)
        or ticket.community_id in v.communities
    )


def reduce_resident(view: dict[str, Any]) -> dict[str, Any]:
    """The resident as a volunteer on the job needs them: where to go and how to reach
    them (phone already masked), not who they are in full."""
    resident = view["resident"]
    name = resident.get("name") or ""
    view["resident"] = {**resident, "id": None, "name": (name[:1] + "*" * (len(name) - 1)) if name else name}
    return view
