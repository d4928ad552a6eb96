"""Money: integer fen inside, yuan strings with at most two decimals at the API edge.

The contribution rule, documented once: contribution = net profit × rate, in fen,
rounded half up (ROUND_HALF_UP: 0.5 fen and above rounds away from zero) when the
profit is positive; nothing on a loss or a zero profit. Integer arithmetic only."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields

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
        if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError(YUAN_HELP)
        value = format(value, "f")
    if not isinstance(value, str) or not YUAN_PATTERN.match(value):
        raise ValueError(YUAN_HELP)
    return int(Decimal(value) * 100)


class Yuan(fields.String):
    """A yuan amount on the wire (``"1234567.89"``), integer fen in Python."""

    def __init__(self, *, positive: bool = False, **kwargs: Any) -> None:
        self.positive = positive
        metadata = {"description": YUAN_HELP, "pattern": YUAN_PATTERN.pattern, "example": "1234567.89",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            fen = fen_from_yuan(value)
        except ValueError:
            raise ValidationError(f"must be {YUAN_HELP}") from None
        if self.positive and fen <= 0:
            raise ValidationError("must be more than zero")
        return fen

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else yuan(int(value))
