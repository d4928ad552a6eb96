"""Re-encrypting personal data under a new ``PII_KEY`` (``yilin pii rotate``).

A service names where it keeps encrypted values (:class:`EncryptedColumns`, beside its
models). With ``PII_KEY`` set to the new secret and the old one in ``PII_PREVIOUS_KEYS``,
the services keep reading and de-duplicating while :func:`rotate` rewrites, a batch per
transaction, every value not yet under the current key, and recomputes the fingerprints
kept beside it from the decrypted value: no duplicate is missed afterwards, with the old
key gone. Interrupted, it resumes where values are still old."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Engine

from yilin.pii import InvalidToken, PersonalData


@dataclass(frozen=True)
class EncryptedColumns:
    """Encrypted columns of one table, and the fingerprint columns computed from them
    (fingerprint column → the encrypted column whose plain value it hashes)."""

    table: str
    encrypted: tuple[str, ...]
    fingerprints: dict[str, str] = field(default_factory=dict)


@dataclass
class Rotated:
    """What one table's rotation did."""

    table: str
    rows: int = 0  # rows rewritten
    values: int = 0  # values re-encrypted
    unreadable: int = 0  # values no known key decrypts (left as they are)


def rotate(engine: Engine, table: Table, spec: EncryptedColumns, pii: PersonalData, batch: int = 500) -> Rotated:
    """Re-encrypt ``spec``'s columns of ``table`` under ``pii``'s current key, ``batch``
    rows per transaction, keyset-paged by the primary key."""
    (key,) = table.primary_key.columns
    names = [*spec.encrypted, *spec.fingerprints]
    # every rewritten row sets every column (an executemany's rows share their columns)
    changes = update(table).where(key == bindparam("_key")).values({n: bindparam(f"_{n}") for n in names})
    done = Rotated(spec.table)
    last: Any = None
    while True:
        with engine.begin() as conn:
            query = select(key, *(table.c[n] for n in names)).order_by(key).limit(batch)
            rows = conn.execute(query if last is None else query.where(key > last)).all()
            if not rows:
                return done
            last = rows[-1][0]
            updates = []
            for row in rows:
                values = _rotated(dict(zip(names, row[1:])), spec, pii, done)
                if values is not None:
                    updates.append({"_key": row[0], **{f"_{n}": v for n, v in values.items()}})
            if updates:
                conn.execute(changes, updates)
                done.rows += len(updates)


def _rotated(row: dict[str, Any], spec: EncryptedColumns, pii: PersonalData, done: Rotated) -> dict[str, Any] | None:
    """The row's columns under the current key, or None when nothing changes (or a value
    is unreadable: the row then stays whole under its old key, and the report counts it)."""
    plain: dict[str, str] = {}
    for name in spec.encrypted:
        token = row[name]
        if token is None or pii.is_current(token):
            continue
        try:
            plain[name] = pii.decrypt(token)
        except InvalidToken:
            done.unreadable += 1
            return None
    if not plain:
        return None
    done.values += len(plain)
    out = dict(row)
    for name, value in plain.items():
        out[name] = pii.encrypt(value)
    for fingerprint, source in spec.fingerprints.items():
        if source in plain:
            out[fingerprint] = pii.fingerprint(plain[source])
    return out
