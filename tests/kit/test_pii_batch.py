"""A batch's tokens are Fernet tokens like encrypt's: readable by decrypt and by Fernet
itself, each with its own IV, whatever the length of the value."""

from __future__ import annotations

import base64
import time

from cryptography.fernet import Fernet

from yilin.pii import PersonalData

VALUES = ["510104199001011234", "13912345678", "", "x" * 15, "y" * 16, "长" * 20, "a\tb\\n", "z" * 47]


def test_every_token_of_a_batch_decrypts_to_its_value() -> None:
    pii = PersonalData("a-secret-of-some-length")
    tokens = pii.encrypt_many(VALUES * 3)
    assert [pii.decrypt(t) for t in tokens] == VALUES * 3
    assert all(pii.is_current(t) for t in tokens)
    assert pii.encrypt_many([]) == []


def test_a_batch_token_is_a_plain_fernet_token_with_its_own_iv_and_the_time() -> None:
    pii = PersonalData("a-secret-of-some-length")
    tokens = [t.partition(":")[2] for t in pii.encrypt_many(["510104199001011234"] * 50)]
    raw = [base64.urlsafe_b64decode(t) for t in tokens]
    assert len({r[9:25] for r in raw}) == 50  # fresh IVs: equal values, different tokens
    assert len({r[25:-32] for r in raw}) == 50
    fernet: Fernet = pii._current.fernet  # the key's own Fernet, as decrypt uses it
    assert {fernet.decrypt(t.encode(), ttl=60).decode() for t in tokens} == {"510104199001011234"}
    assert abs(fernet.extract_timestamp(tokens[0].encode()) - time.time()) < 60
    assert len(raw[0]) == len(base64.urlsafe_b64decode(pii.encrypt("510104199001011234").partition(":")[2]))


def test_a_rotated_key_still_reads_a_batch_written_before() -> None:
    old = PersonalData("the-previous-secret-1")
    tokens = old.encrypt_many(VALUES)
    rotated = PersonalData("the-current-secret-22", previous=["the-previous-secret-1"])
    assert [rotated.decrypt(t) for t in tokens] == VALUES
    assert not any(rotated.is_current(t) for t in tokens)
