"""The fund's rules, over plain values. Money: integer fen inside, yuan strings with at
most two decimals at the API edge; contributions; and the double-entry postings that
keep every pool's balance.

The contribution rule, documented once: contribution = net profit × rate, in fen,
rounded half up (ROUND_HALF_UP: 0.5 fen and above rounds away from zero) when the
profit is positive; nothing on a loss or a zero profit. Integer arithmetic only."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

BASIS_POINTS = 10_000
YUAN_PATTERN = re.compile(r"^-?\d{1,13}(\.\d{1,2})?$")
YUAN_HELP = 'yuan as a string with at most two decimals, e.g. "1234567.89"'


def contribution_fen(net_profit_fen: int, rate_bp: int) -> int:
    """``net_profit_fen × rate_bp / 10000`` rounded half up; 0 when there is no profit."""
    if net_profit_fen <= 0:
        return 0
    return (net_profit_fen * rate_bp * 2 + BASIS_POINTS) // (2 * BASIS_POINTS)


def yuan(fen: int) -> str:
    """``12345679`` → ``"123456.79"``; ``-5`` → ``"-0.05"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def fen_from_yuan(value: Any) -> int:
    """Exact fen of a yuan string or Decimal; ``ValueError`` for anything else, floats
    (and JSON numbers) included, since they cannot carry an exact amount."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent  # a letter for NaN and infinity, else an int
        if not value.is_finite() or not isinstance(exponent, int) or exponent < -2:
            raise ValueError(YUAN_HELP)
        value = format(value, "f")
    if not isinstance(value, str) or not YUAN_PATTERN.match(value):
        raise ValueError(YUAN_HELP)
    return int(Decimal(value) * 100)


def overdraws(kind: str, balance_fen: int, amount_fen: int) -> bool:
    """Whether taking ``amount_fen`` from an account of ``kind`` would overdraw it: a
    community pool never goes below zero (other accounts may: an enterprise's account
    is credited with what it gives, an expense account only ever receives)."""
    return kind == "pool" and balance_fen < amount_fen


def posting(balances: dict[str, int], debit: str, credit: str, amount_fen: int) -> dict[str, int]:
    """The balances (debits − credits) after moving ``amount_fen`` from ``credit`` to
    ``debit``: one debit and one credit of the same amount, so the balances always sum to
    zero. Refuses a non-positive amount."""
    if amount_fen <= 0:
        raise ValueError("a transfer moves a positive amount")
    after = dict(balances)
    after[debit] = after.get(debit, 0) + amount_fen
    after[credit] = after.get(credit, 0) - amount_fen
    return after


def as_text(value: Any) -> str | None:
    """``value`` as text; ``None`` stays ``None`` (ids arrive as UUIDs or strings)."""
    return None if value is None else str(value)


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` with its zone: a naive value is UTC (SQLite drops the zone)."""
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
