"""PII key rotation: with the new key current and the old one still readable, the
registry keeps finding duplicates written under the old key; ``yilin pii rotate``
re-encrypts every value under the new key and recomputes the fingerprints, so nothing is
lost once the old key is gone; a value no key reads is reported, not destroyed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from services.registry.models import Volunteer
from tests.harness import a_community, migrate_service
from tests.security.district import id_number
from yilin.config import database_url
from yilin.db import engine_for
from yilin.errors import Conflict
from yilin.pii import PersonalData
from yilinctl.pii_keys import rotate_services

OLD, NEW = "pii-key-before-the-rotation", "pii-key-after-the-rotation"
PHONES = {1: "13912345678", 2: "15887654321"}


def volunteer(serial: int, community: str) -> dict[str, Any]:
    return {
        "name": f"志愿者{serial}",
        "id_number": id_number(serial),
        "community_id": community,
        **({"phone": PHONES[serial]} if serial in PHONES else {}),
    }


def stored_rows(config: dict[str, Any]) -> dict[str, tuple[str, str | None, str]]:
    engine = engine_for(database_url(config, "registry"), "registry")
    with engine.connect() as conn:
        rows = conn.execute(
            select(Volunteer.number, Volunteer.id_number_encrypted, Volunteer.phone_encrypted, Volunteer.id_number_hash)
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_rotation_keeps_every_value_and_every_duplicate(stack: Any) -> None:
    before = stack("registry", PII_KEY=OLD)
    with before.rpc("registry") as registry:
        community = a_community(registry)
        numbers = {n: registry.register_volunteer(volunteer(n, community))["number"] for n in (1, 2)}
    before.containers["registry"].stop()

    # the new key is current, the old one still readable: duplicates under the old key are found
    during = stack("registry", PII_KEY=NEW, PII_PREVIOUS_KEYS=OLD)
    with during.rpc("registry") as registry:
        with pytest.raises(Conflict):
            registry.register_volunteer(volunteer(1, community))
        imported = registry.import_volunteers([volunteer(2, community), volunteer(3, community)])
        assert (imported["created"], imported["duplicates"]) == (1, 1)
    old, new = PersonalData(OLD), PersonalData(NEW)
    rows = stored_rows(during.config)
    assert len(rows) == 3
    assert old.is_current(rows[numbers[1]][0]) and not new.is_current(rows[numbers[1]][0])

    migrate_service("tickets", during.config)  # its tables are rotated too (empty here)
    done = {r.table: r for r in rotate_services(during.config, ["registry", "tickets"])}
    assert (done["volunteers"].rows, done["volunteers"].values, done["volunteers"].unreadable) == (2, 4, 0)
    assert done["tickets"].rows == done["suggestion_residents"].rows == 0
    rows = stored_rows(during.config)
    for serial, number in numbers.items():
        encrypted_id, encrypted_phone, fingerprint = rows[number]
        # readable with the new key alone, and de-duplicated under it
        assert new.is_current(encrypted_id) and new.decrypt(encrypted_id) == id_number(serial)
        assert encrypted_phone is not None and new.decrypt(encrypted_phone) == PHONES[serial]
        assert fingerprint == new.fingerprint(id_number(serial))
    assert [r.rows for r in rotate_services(during.config, ["registry"])] == [0]  # nothing left to do
    during.containers["registry"].stop()

    # the old key gone: a duplicate is still found, a value no key reads is reported and kept
    after = stack("registry", PII_KEY=NEW)
    with after.rpc("registry") as registry:
        with pytest.raises(Conflict):
            registry.register_volunteer(volunteer(2, community))
    wrong = {**after.config, "PII_KEY": "a-key-nobody-used"}
    [report] = rotate_services(wrong, ["registry"])
    assert (report.rows, report.unreadable) == (0, 3)
    assert stored_rows(after.config) == rows


def test_values_without_a_key_id_still_decrypt() -> None:
    """Values written before key ids existed (a bare Fernet token) decrypt under any known key."""
    legacy = PersonalData(OLD)
    bare = legacy._current.fernet.encrypt(b"13912345678").decode()  # the format of that time
    rotating = PersonalData(NEW, [OLD])
    assert rotating.decrypt(bare) == "13912345678" and not rotating.is_current(bare)
    assert rotating.fingerprints("x")[1] == legacy.fingerprint("x") != rotating.fingerprint("x")


def test_rotation_rewrites_fernet_values_under_the_current_key_as_aes_gcm(stack: Any) -> None:
    """Values of the earlier format (Fernet, under the key still current) are read, and
    ``yilin pii rotate`` rewrites them as AES-GCM with the same fingerprints."""
    s = stack("registry", PII_KEY=OLD)
    with s.rpc("registry") as registry:
        community = a_community(registry)
        numbers = {n: registry.register_volunteer(volunteer(n, community))["number"] for n in (1, 2)}
    pii = PersonalData(OLD)
    fernet = pii._current.fernet
    engine = engine_for(database_url(s.config, "registry"), "registry")
    with engine.begin() as conn:  # as the registry stored them before AES-GCM
        for serial, number in numbers.items():
            conn.execute(
                update(Volunteer)
                .where(Volunteer.number == number)
                .values(
                    id_number_encrypted=f"{pii.key_id}:{fernet.encrypt(id_number(serial).encode()).decode()}",
                    phone_encrypted=f"{pii.key_id}:{fernet.encrypt(PHONES[serial].encode()).decode()}",
                )
            )
    before = stored_rows(s.config)
    with s.rpc("registry") as registry:  # still a duplicate: the fingerprint did not change
        with pytest.raises(Conflict):
            registry.register_volunteer(volunteer(2, community))
    [report] = rotate_services(s.config, ["registry"])
    assert (report.rows, report.values, report.unreadable) == (2, 4, 0)
    after = stored_rows(s.config)
    for serial, number in numbers.items():
        encrypted_id, encrypted_phone, fingerprint = after[number]
        assert encrypted_id.startswith(f"{pii.key_id}:v2:") and pii.is_current(encrypted_id)
        assert pii.decrypt(encrypted_id) == id_number(serial) and pii.decrypt(encrypted_phone or "") == PHONES[serial]
        assert fingerprint == before[number][2] == pii.fingerprint(id_number(serial))
    assert [r.rows for r in rotate_services(s.config, ["registry"])] == [0]
