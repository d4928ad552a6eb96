"""Who may change or see which registry record (docs/security.md, "Object-level rules").

The gateway already checks the caller's role per route; the registry checks again
(a service is never more trusting than its gateway) and adds the rules that need the
record itself. Each check runs after the record is known to exist, so a missing record
is 404 and a record that is not the caller's is 403.

- ``operator`` and the platform itself (no caller identity: timers, events) may do
  everything.
- ``org_admin`` creates teams only for their own organisation, changes memberships only
  of their organisation's teams, registers, updates and deactivates only their own
  organisation's volunteers (``Volunteer.organisation_id``; a place in one of their teams
  is not enough), and forms service units only that their organisation takes part in.
- ``team_lead`` (subject = their volunteer id) changes memberships only of teams they lead.
- ``volunteer`` (subject = their volunteer id) reads only their own record and the
  member lists of their own teams.

Reads are not restricted by role here beyond that: other services call them on behalf
of their own callers (the identity travels with every RPC), and the gateway has
already applied each route's roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.registry.permissions import MANAGERS, MEMBER_EDITORS, OPERATORS
from services.registry.store import RegistryStore
from yilin.errors import Forbidden
from yilin.identity import Identity


def require_role(caller: Identity, roles: tuple[str, ...], action: str) -> None:
    if caller.role not in roles:
        raise Forbidden(f"the role {caller.role} may not {action}")


def _own_organisation(caller: Identity) -> str:
    if not caller.organisation_id:
        raise Forbidden("an organisation administrator's token must name the organisation (org claim)")
    return caller.organisation_id


def team_creation(caller: Identity, organisation_id: Any) -> None:
    require_role(caller, MANAGERS, "create teams")
    if caller.role == "org_admin" and str(organisation_id) != _own_organisation(caller):
        raise Forbidden(
            "an organisation administrator creates teams only for their own organisation",
            {"organisation_id": ["not your organisation"]},
        )


def membership_change(session: Session, caller: Identity, team_id: Any) -> None:
    require_role(caller, MEMBER_EDITORS, "change team memberships")
    store = RegistryStore(session)
    team = store.find_team(team_id)
    if team is None or caller.role in OPERATORS:
        return  # the domain answers 404 for a missing team
    if caller.role == "org_admin" and team.organisation_id != _own_organisation(caller):
        raise Forbidden("this team belongs to another organisation", {"team_id": ["not your organisation's team"]})
    if caller.role == "team_lead":
        membership = store.membership(team.id, caller.subject)
        if membership is None or membership.role != "lead":
            raise Forbidden("a team lead changes only the teams they lead", {"team_id": ["not a team you lead"]})


def volunteer_change(session: Session, caller: Identity, volunteer_id: Any) -> None:
    """Edit or deactivate: the district's operators, or an administrator of the volunteer's
    own organisation. Membership of a team grants nothing: any organisation may enrol a
    volunteer in its team, and that must not hand it their record."""
    require_role(caller, MANAGERS, "change volunteers")
    volunteer = RegistryStore(session).find_volunteer(volunteer_id)
    if caller.role in OPERATORS or volunteer is None:
        return
    if volunteer.organisation_id != _own_organisation(caller):
        raise Forbidden(
            "only the volunteer's own organisation changes their record",
            {"volunteer_id": ["not your organisation's volunteer"]},
        )


def volunteer_registration(caller: Identity, rows: list[Any]) -> list[Any]:
    """The rows to register, each with its organisation: an organisation administrator
    registers volunteers for their own organisation only (the default when a row names none)."""
    require_role(caller, MANAGERS, "register volunteers")
    if caller.role != "org_admin":
        return rows
    org = _own_organisation(caller)
    out = []
    for row in rows:
        if isinstance(row, dict):
            if row.get("organisation_id") not in (None, org):
                raise Forbidden(
                    "an organisation administrator registers volunteers for their own organisation only",
                    {"organisation_id": ["not your organisation"]},
                )
            row = {**row, "organisation_id": org}
        out.append(row)
    return out


def unit_formation(caller: Identity, data: dict[str, Any]) -> None:
    require_role(caller, MANAGERS, "form service units")
    if caller.role == "org_admin":
        org = _own_organisation(caller)
        members = {str(data[k]) for k in ("sector_id", "agency_id", "volunteer_organisation_id")}
        if org not in members:
            raise Forbidden(
                "an organisation administrator forms only units their organisation takes part in",
                {"volunteer_organisation_id": ["your organisation is not part of this unit"]},
            )


def volunteer_read(caller: Identity, volunteer_id: Any) -> None:
    """Called once the volunteer is known to exist."""
    if caller.role == "volunteer" and caller.subject != str(volunteer_id):
        raise Forbidden("a volunteer may see only their own record", {"volunteer_id": ["not your record"]})


def team_members_read(session: Session, caller: Identity, team_id: Any) -> None:
    """Called once the team is known to exist."""
    if caller.role == "volunteer" and RegistryStore(session).membership(str(team_id), caller.subject) is None:
        raise Forbidden("a volunteer sees the members of their own teams only", {"team_id": ["not your team"]})


def caller_scope(session: Session, caller: Identity) -> dict[str, list[str]]:
    """What the caller may see in other services: the teams they belong to and lead (a
    person who is a volunteer), and the communities of their organisation (staff)."""
    store = RegistryStore(session)
    teams: list[str] = []
    led: list[str] = []
    for team_id, role in store.memberships_of(caller.subject):
        teams.append(team_id)
        if role == "lead":
            led.append(team_id)
    communities: set[str] = set()
    if caller.organisation_id:
        organisation = store.find_organisation(caller.organisation_id)
        if organisation is not None and organisation.community_id:
            communities.add(organisation.community_id)
        communities |= {c for c in store.team_communities(caller.organisation_id) if c}
    return {"teams": sorted(teams), "teams_led": sorted(led), "communities": sorted(communities)}
