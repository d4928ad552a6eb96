"""The registry's volunteers: registration, updates, the bulk import, and the views other
services read. Inputs arrive already validated by the schemas in
:mod:`services.registry.schemas`; personal identifiers are stored encrypted and hashed."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import date
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy.orm import Session

from services.registry.domain import require_community
from services.registry.id_numbers import canonical_id_number, mask_id_number
from services.registry.models import Volunteer, utcnow
from services.registry.schemas import VolunteerIn
from services.registry.store import RegistryStore, VolunteerReads
from yilin.db import UnitOfWork
from yilin.errors import Conflict, InvalidInput, NotFound, load_each
from yilin.etags import Precondition, no_precondition
from yilin.pii import PersonalData, mask_phone
from yilin.plainreads import Reader

VOLUNTEER_ROWS = VolunteerIn(many=True)

# A volunteer's number, as printed on certificates: "YL" and 13 characters of Crockford's
# base32 (no I, L, O or U to misread), 65 random bits. Two of a district's 173,000 share
# one with odds of about 1 in 2.5 billion, and the store draws again if they do. Numbers
# of the earlier form ("YL" and 10 hexadecimal digits, 40 bits) stay as they are.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_DIGITS = 13


_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", NUMBER_ALPHABET.encode())


def draw_numbers(count: int) -> list[str]:
    """``count`` new volunteer numbers (``YL`` and 65 random bits in Crockford's base32)."""
    # 80 random bits a number, in RFC 4648 base32 (16 characters each, in step with the
    # bytes), of which the first 13 characters, in Crockford's letters; one read of the
    # system's random source for a whole batch
    letters = base64.b32encode(os.urandom(10 * count)).translate(_TO_CROCKFORD).decode()
    return ["YL" + letters[start : start + NUMBER_DIGITS] for start in range(0, 16 * count, 16)]


def volunteer_view(store: RegistryStore, volunteer: Volunteer) -> dict[str, Any]:
    return volunteer_views(store, [volunteer])[0]


def volunteer_views(store: RegistryStore, volunteers: Sequence[Volunteer]) -> list[dict[str, Any]]:
    """Views of many volunteers, in their order, with one query in all."""
    if not volunteers:
        return []
    rows = store.view_rows([v.id for v in volunteers])
    by_id = {view["id"]: view for view in map(_view, rows)}
    return [by_id[v.id] for v in volunteers]


def volunteer_view_by_id(store: VolunteerReads, volunteer_id: Any) -> dict[str, Any]:
    """One volunteer's view: a single statement (a read is one round trip)."""
    row = store.view_row(volunteer_id)
    if row is None:
        raise NotFound(f"volunteer {volunteer_id} does not exist", {"volunteer_id": ["not found"]})
    return _view(row)


def _view(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "number": r.number,
        "name": r.name,
        "id_number": r.id_number_masked,
        "phone": r.phone_masked,
        "community_id": r.community_id,
        "organisation_id": r.organisation_id,
        "skills": sorted(r.skills or ()),
        "certifications": [
            {"kind": c["kind"], "number": c["number"], "issued_on": _date(c["issued_on"])}
            for c in r.certifications or ()
        ],
        "party_member": r.party_member,
        "status": r.status,
        "team_ids": sorted(r.team_ids or ()),
        "created_at": r.created_at,
    }


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _registered_event(
    volunteer: dict[str, Any], skills: Iterable[str], certifications: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "volunteer_id": volunteer["id"],
        "volunteer_number": volunteer["number"],
        "community_id": volunteer["community_id"],
        "organisation_id": volunteer["organisation_id"],
        "skills": sorted(set(skills)),
        "certifications": sorted({c["kind"] for c in certifications}),
        "status": volunteer["status"],
    }


def _volunteer_columns(
    data: dict[str, Any],
    fingerprint: str,
    id_number_encrypted: str,
    phone_encrypted: str | None,
    number: str,
) -> dict[str, Any]:
    """A new volunteer's row (timestamps aside), personal data encrypted (by the
    caller: an import encrypts a whole batch at once) and masked."""
    id_number = canonical_id_number(data["id_number"])
    phone = data.get("phone")
    ident = str(uuid.uuid4())
    return {
        "id": ident,
        "number": number,
        "name": data["name"],
        "id_number_hash": fingerprint,
        "id_number_masked": mask_id_number(id_number),
        "id_number_encrypted": id_number_encrypted,
        "phone_masked": mask_phone(phone) if phone else None,
        "phone_encrypted": phone_encrypted,
        "party_member": data["party_member"],
        "community_id": str(data["community_id"]),
        "organisation_id": str(data["organisation_id"]) if data.get("organisation_id") else None,
        "status": "active",
    }


def register_volunteer(
    uow: UnitOfWork, pii: PersonalData, data: dict[str, Any], draw: Callable[[int], list[str]] = draw_numbers
) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    require_community(store, data["community_id"])
    if data.get("organisation_id"):
        store.organisation(data["organisation_id"], "organisation_id")
    # every key's fingerprint: during a key rotation a duplicate may still carry an old one
    fingerprints = pii.fingerprints(canonical_id_number(data["id_number"]))
    if store.id_number_registered(fingerprints):
        raise Conflict("a volunteer with this ID number is already registered", {"id_number": ["already registered"]})
    id_number, phone = canonical_id_number(data["id_number"]), data.get("phone")
    columns = _volunteer_columns(
        data, fingerprints[0], pii.encrypt(id_number), pii.encrypt(phone) if phone else None, draw(1)[0]
    )
    volunteer = store.add_volunteer(columns, draw)
    store.write_skills(volunteer.id, data["skills"], data["certifications"])
    uow.emit("volunteer.registered", _registered_event(columns, data["skills"], data["certifications"]))
    return volunteer_view(store, volunteer)


def get_volunteer(reader: Reader, volunteer_id: Any) -> dict[str, Any]:
    """One volunteer's view, read past the session (the gateway's hottest read)."""
    return volunteer_view_by_id(VolunteerReads(reader), volunteer_id)


def update_volunteer(
    uow: UnitOfWork,
    pii: PersonalData,
    volunteer_id: Any,
    patch: dict[str, Any],
    precondition: Precondition = no_precondition,
) -> dict[str, Any]:
    store = RegistryStore(uow.session)
    volunteer = store.lock_volunteer(volunteer_id)
    precondition(volunteer_view(store, volunteer))  # under the lock: a concurrent update waits
    if not patch:
        raise InvalidInput("nothing to change", {"_schema": ["give at least one field"]})
    if "community_id" in patch:
        require_community(store, patch["community_id"])
        volunteer.community_id = str(patch["community_id"])
    if "name" in patch:
        volunteer.name = patch["name"]
    if "phone" in patch:
        phone = patch["phone"]
        volunteer.phone_masked = mask_phone(phone) if phone else None
        volunteer.phone_encrypted = pii.encrypt(phone) if phone else None
    if "party_member" in patch:
        volunteer.party_member = patch["party_member"]
    was_active = volunteer.status == "active"
    if "status" in patch:
        volunteer.status = patch["status"]
    store.write_skills(volunteer.id, patch.get("skills"), patch.get("certifications"))
    store.flush()
    view = volunteer_view(store, volunteer)
    uow.emit(
        "volunteer.updated",
        {
            "volunteer_id": volunteer.id,
            "changed": sorted(patch),
            "community_id": volunteer.community_id,
            "skills": view["skills"],
            "status": volunteer.status,
        },
    )
    if was_active and volunteer.status != "active":
        uow.emit("volunteer.deactivated", {"volunteer_id": volunteer.id, "status": volunteer.status})
    return view


def list_volunteers(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    store = RegistryStore(session)
    return store.list_volunteers(query, lambda rows: volunteer_views(store, rows))


def import_volunteers(
    uow: UnitOfWork, pii: PersonalData, rows: Any, draw: Callable[[int], list[str]] = draw_numbers
) -> dict[str, Any]:
    """Register a batch; rows that fail validation are reported, not fatal, and a row
    whose ID number is already registered counts as a duplicate (re-running an import
    is safe). Set-based: one validation pass, one lookup of known ID numbers per 1,000
    and one insert per table, whatever the batch size."""
    if not isinstance(rows, list):
        raise InvalidInput("rows must be a list of volunteer records", {"rows": ["expected a list"]})
    store = RegistryStore(uow.session)
    loaded, errors = load_each(VOLUNTEER_ROWS, rows)
    rejected = [{"row": index, "fields": fields} for index, fields in errors.items()]
    communities = store.community_ids()
    organisations = store.organisation_ids()
    accepted: dict[str, dict[str, Any]] = {}  # by ID-number fingerprint: the first row of a person wins
    for index, data in loaded.items():
        if str(data["community_id"]) not in communities:
            rejected.append({"row": index, "fields": {"community_id": ["no such community"]}})
            continue
        if data.get("organisation_id") and str(data["organisation_id"]) not in organisations:
            rejected.append({"row": index, "fields": {"organisation_id": ["no such organisation"]}})
            continue
        accepted.setdefault(pii.fingerprint(canonical_id_number(data["id_number"])), data)
    existing = store.known_fingerprints(accepted)
    if pii.rotating:  # a duplicate may still carry a previous key's fingerprint
        previous = {
            old: fingerprint
            for fingerprint, data in accepted.items()
            for old in pii.fingerprints(canonical_id_number(data["id_number"]))[1:]
        }
        existing |= {previous[old] for old in store.known_fingerprints(previous)}
    now = utcnow()
    new = [(fingerprint, data) for fingerprint, data in accepted.items() if fingerprint not in existing]
    id_numbers = pii.encrypt_many([canonical_id_number(data["id_number"]) for _, data in new])
    phones = iter(pii.encrypt_many([data["phone"] for _, data in new if data.get("phone")]))
    fresh = [
        (_volunteer_columns(data, fingerprint, id_number, next(phones) if data.get("phone") else None, number), data)
        for (fingerprint, data), id_number, number in zip(new, id_numbers, draw(len(new)))
    ]
    store.insert_volunteers(
        [volunteer for volunteer, _ in fresh],
        [{"volunteer_id": v["id"], "skill": skill} for v, data in fresh for skill in sorted(set(data["skills"]))],
        [
            {
                "id": str(uuid.uuid4()),
                "volunteer_id": v["id"],
                "kind": c["kind"],
                "number": c.get("number"),
                "issued_on": c.get("issued_on"),
            }
            for v, data in fresh
            for c in data["certifications"]
        ],
        now,
        draw,
    )
    for volunteer, data in fresh:
        uow.emit("volunteer.registered", _registered_event(volunteer, data["skills"], data["certifications"]))
    rejected.sort(key=lambda r: r["row"])
    return {"created": len(fresh), "duplicates": len(rows) - len(rejected) - len(fresh), "rejected": rejected}
