"""How figures read on the public pages: yuan from integer fen, hours from minutes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CATEGORY_NAMES = {
    "courtyard_renovation": "院落改造",
    "hardware_repair": "设施维修",
    "garbage_sorting": "垃圾分类",
    "new_community_space": "社区新空间",
    "other": "其他",
}


def yuan(fen: int) -> str:
    """``123456`` fen → ``"¥1,234.56"``: integer arithmetic, never float."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def hours(minutes: int) -> str:
    """Minutes as hours with one decimal."""
    return str((Decimal(int(minutes)) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def category(code: str) -> str:
    """A disbursement category's Chinese name."""
    return CATEGORY_NAMES.get(code, code)
