"""Who may do what in the hours service: one table, read by the gateway's routes (the
first gate) and by the service (which never trusts its gateway more than itself).
Pure values: no database, no broker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.hours.rules import Caller

# -- the service's own checks ---------------------------------------------------------------
SYSTEM_ROLES = ("operator", "service")  # act for any organisation
VERIFIERS = ("verifier", "org_admin")  # decide on hours recorded by their own organisation
SELECTORS = (*SYSTEM_ROLES, "org_admin")  # select volunteers for 5★
CERTIFIERS = ("org_admin", "verifier")  # certify hours recorded by their own organisation
# Certificates and national records: the volunteer reads their own; these district roles
# read anyone's; an organisation's staff read those of their own organisation's volunteers
# (and the certificates their organisation issued).
DISTRICT_READERS = ("operator", "service", "auditor")
ORGANISATION_STAFF = ("org_admin", "verifier", "social_worker")


def reads_volunteer(caller: Caller, volunteer_id: str, organisations: Iterable[str | None]) -> bool:
    """Whether the caller may read a volunteer's hours (totals, entries, selection),
    certificates or national record: their own, anyone's for the district's readers, and
    for an organisation's staff those whose ``organisations`` (the volunteer's own, or
    the one that recorded an entry or issued a certificate) include the caller's."""
    if caller.subject == volunteer_id or caller.role in DISTRICT_READERS:
        return True
    return (
        caller.role in ORGANISATION_STAFF
        and caller.organisation_id is not None
        and caller.organisation_id in set(organisations)
    )


def reads_sheet(caller: Caller, organisation_id: str) -> bool:
    """Whether the caller may read an attendance sheet: the district's readers, and the
    staff of the organisation that recorded it (its lines name several volunteers)."""
    if caller.role in DISTRICT_READERS:
        return True
    return caller.role in ORGANISATION_STAFF and caller.organisation_id == organisation_id


@dataclass(frozen=True)
class EntryScope:
    """Which ledger entries a caller lists: everyone's, one volunteer's (their own), or
    those of an organisation (its volunteers' and those it recorded)."""

    everyone: bool = False
    volunteer_id: str | None = None
    organisation_id: str | None = None


def entry_scope(caller: Caller, volunteer_id: str | None) -> EntryScope | None:
    """The entries the caller may list when asking for ``volunteer_id``'s (or for any
    volunteer's, ``None``); ``None`` if they may list none."""
    if caller.role in DISTRICT_READERS:
        return EntryScope(everyone=True)
    if caller.role in ORGANISATION_STAFF:
        return EntryScope(organisation_id=caller.organisation_id) if caller.organisation_id else None
    if volunteer_id in (None, caller.subject):  # a volunteer or team lead: their own entries only
        return EntryScope(volunteer_id=caller.subject)
    return None


# -- the gateway's routes ---------------------------------------------------------------------
RECORDERS = ("operator", "org_admin", "verifier", "social_worker", "team_lead")
DECIDERS = ("operator", "org_admin", "verifier")
READERS = DECIDERS + ("auditor", "social_worker", "team_lead", "volunteer")
CORRECTION_REQUESTERS = DECIDERS + ("volunteer",)
SELECTION_SETTERS = ("operator", "org_admin")
