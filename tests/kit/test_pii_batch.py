"""A batch's tokens are AES-GCM tokens like encrypt's: readable by decrypt, each with its
own nonce, whatever the length of the value; values of the earlier Fernet formats (with
and without a key id) are still read, and rotation rewrites them in the current format."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yilin.pii import ASSOCIATED, NONCE, InvalidToken, PersonalData

VALUES = ["510104199001011234", "13912345678", "", "x" * 15, "y" * 16, "长" * 20, "a\tb\\n", "z" * 47]


def test_every_token_of_a_batch_decrypts_to_its_value() -> None:
    pii = PersonalData("a-secret-of-some-length")
    tokens = pii.encrypt_many(VALUES * 3)
    assert [pii.decrypt(t) for t in tokens] == VALUES * 3
    assert all(pii.is_current(t) for t in tokens)
    assert pii.encrypt_many([]) == []


def test_a_batch_token_is_a_marked_aes_gcm_token_with_its_own_nonce() -> None:
    pii = PersonalData("a-secret-of-some-length")
    tokens = pii.encrypt_many(["510104199001011234"] * 50)
    assert all(t.startswith(f"{pii.key_id}:v2:") for t in tokens)  # told apart from Fernet's gAAAA…
    raw = [base64.urlsafe_b64decode(t.split(":", 2)[2]) for t in tokens]
    assert len({r[:NONCE] for r in raw}) == 50  # fresh nonces: equal values, different tokens
    assert len({r[NONCE:] for r in raw}) == 50
    aead: AESGCM = pii._current.aead  # the key's own AES-GCM, as decrypt uses it
    assert {aead.decrypt(r[:NONCE], r[NONCE:], ASSOCIATED).decode() for r in raw} == {"510104199001011234"}
    assert len(pii.encrypt("510104199001011234")) == len(tokens[0]) <= 200  # the columns are String(200)


def test_a_changed_token_is_refused_not_misread() -> None:
    pii = PersonalData("a-secret-of-some-length")
    token = pii.encrypt("510104199001011234")
    body = bytearray(base64.urlsafe_b64decode(token.split(":", 2)[2]))
    body[NONCE + 3] ^= 1
    for bad in (
        f"{pii.key_id}:v2:{base64.urlsafe_b64encode(bytes(body)).decode()}",  # one bit flipped
        token[:-8],  # cut short
        f"{pii.key_id}:v2:abc",  # shorter than a nonce
        PersonalData("another-secret-altogether").encrypt("510104199001011234"),  # an unknown key
    ):
        with pytest.raises(InvalidToken):
            pii.decrypt(bad)


def test_fernet_values_written_before_are_read_and_not_current() -> None:
    pii = PersonalData("a-secret-of-some-length")
    fernet = pii._current.fernet  # what encrypt wrote before AES-GCM, with and without the key id
    with_id = [f"{pii.key_id}:{fernet.encrypt(v.encode()).decode()}" for v in VALUES]
    bare = [fernet.encrypt(v.encode()).decode() for v in VALUES]
    assert [pii.decrypt(t) for t in with_id] == [pii.decrypt(t) for t in bare] == VALUES
    assert not any(pii.is_current(t) for t in with_id + bare)  # `yilin pii rotate` rewrites them


def test_a_rotated_key_still_reads_a_batch_written_before() -> None:
    old = PersonalData("the-previous-secret-1")
    tokens = old.encrypt_many(VALUES)
    rotated = PersonalData("the-current-secret-22", previous=["the-previous-secret-1"])
    assert [rotated.decrypt(t) for t in tokens] == VALUES
    assert not any(rotated.is_current(t) for t in tokens)
    assert [rotated.decrypt(t) for t in rotated.encrypt_many(VALUES)] == VALUES
