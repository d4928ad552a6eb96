"""The place hierarchy's rules, as plain data and functions (no database): district →
street or town → community or village → grid (微网格) → compound (小区)."""

from __future__ import annotations

LEVELS = ("district", "street", "town", "community", "village", "grid", "compound")
# The level(s) a place of each level must sit under; a district sits under nothing.
PARENT_LEVELS: dict[str, tuple[str, ...]] = {
    "district": (),
    "street": ("district",),
    "town": ("district",),
    "community": ("street", "town"),
    "village": ("street", "town"),
    "grid": ("community", "village"),
    "compound": ("grid",),
}
# Where residents live and needs are raised: a village is a community's rural twin.
COMMUNITY_LEVELS = ("community", "village")


def parent_problem(level: str, parent_level: str | None) -> str | None:
    """Why a place of ``level`` cannot sit under a parent of ``parent_level`` (``None``:
    no parent), or ``None`` when it can."""
    allowed = PARENT_LEVELS[level]
    if not allowed:
        return None if parent_level is None else f"a {level} has no parent"
    if parent_level is None:
        return f"a {level} needs a parent {' or '.join(allowed)}"
    if parent_level not in allowed:
        return f"the parent of a {level} must be a {' or '.join(allowed)}, not a {parent_level}"
    return None


def is_community(level: str) -> bool:
    """True for the levels residents, teams and tickets belong to (community or village)."""
    return level in COMMUNITY_LEVELS
