"""Object-level rules on ``self.caller``, enforced by the service whatever the gateway
let through. Auditors read everything and change nothing."""

from __future__ import annotations

from typing import Iterable

from services.fund import permissions
from services.fund.models import Disbursement, Enterprise
from yilin.errors import Forbidden
from yilin.identity import Identity

TRUSTED = ("operator", "service")  # the local operator and the platform's named accounts
REGISTRARS = TRUSTED + permissions.WRITERS
REQUESTERS = TRUSTED + permissions.REQUESTERS
DECIDERS = permissions.DECIDERS
APPROVERS = permissions.APPROVERS
PAYERS = permissions.PAYERS


def _require(caller: Identity, roles: Iterable[str], action: str) -> None:
    if caller.role == "auditor":
        raise Forbidden("auditors read the fund and change nothing", {"role": [caller.role]})
    if caller.role not in roles:
        raise Forbidden(f"the role {caller.role} may not {action}", {"role": [caller.role]})


def register_enterprise(caller: Identity) -> None:
    _require(caller, REGISTRARS, "register enterprises")


def represents(caller: Identity, enterprise: Enterprise) -> bool:
    """An enterprise representative of this enterprise or of its owner."""
    own = {enterprise.id, enterprise.organisation_id, enterprise.owner_organisation_id} - {None}
    return caller.role == "enterprise_rep" and caller.organisation_id in own


def report_profit(caller: Identity, enterprise: Enterprise) -> None:
    if caller.role in TRUSTED or represents(caller, enterprise):
        return
    if caller.role == "enterprise_rep":
        raise Forbidden(
            "a representative reports only its own enterprise's profit", {"enterprise_id": ["not your enterprise"]}
        )
    _require(caller, (), "report profits")


def read_reports(caller: Identity, enterprise: Enterprise) -> None:
    if caller.role == "enterprise_rep" and not represents(caller, enterprise):
        raise Forbidden(
            "a representative reads only its own enterprise's reports", {"enterprise_id": ["not your enterprise"]}
        )


def request_disbursement(caller: Identity) -> None:
    _require(caller, REQUESTERS, "request disbursements")


def approver(caller: Identity, request: Disbursement, member: str | None) -> str:
    """Who this approval counts for: the authenticated committee member calling, never
    anyone they name, and never the requester (four eyes: approvals count distinct
    authenticated identities)."""
    _require(caller, APPROVERS, "approve disbursements")
    if member not in (None, caller.subject):
        raise Forbidden("a committee member approves only as themself", {"member": ["must be left out"]})
    who = caller.subject
    if who == request.requested_by:
        raise Forbidden(
            "the requester cannot approve their own request; two other committee members must",
            {"approver": ["is the requester"]},
        )
    return who


def decide(caller: Identity, action: str) -> None:
    _require(caller, DECIDERS, action)


def payer_role(caller: Identity) -> None:
    _require(caller, PAYERS, "pay disbursements")


def payer(caller: Identity, request: Disbursement, approvers: Iterable[str]) -> None:
    """The payer is a person other than the requester and every approver, operators included."""
    payer_role(caller)
    if caller.subject == request.requested_by:
        raise Forbidden("the requester cannot pay their own request", {"payer": ["is the requester"]})
    if caller.subject in set(approvers):
        raise Forbidden("an approver cannot also pay the request; someone else must", {"payer": ["is an approver"]})


def cancel(caller: Identity, request: Disbursement) -> None:
    if caller.role in TRUSTED or (caller.role != "auditor" and caller.subject == request.requested_by):
        return
    _require(caller, (), "cancel someone else's request")
