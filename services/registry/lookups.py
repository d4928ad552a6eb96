"""Checks other services make against the registry over RPC, written once so every
caller refuses a bad place id with the same error."""

from __future__ import annotations

from typing import Any

from services.registry.places import is_community
from yilin.errors import InvalidInput, NotFound


def require_community(registry: Any, community_id: str) -> None:
    """Raise unless ``community_id`` names a place of level community; ``registry`` is an
    RPC proxy of the registry service."""
    try:
        place = registry.get_place(community_id)
    except NotFound:
        raise NotFound(f"community {community_id} does not exist", {"community_id": ["not found"]}) from None
    if not is_community(place["level"]):
        raise InvalidInput(
            "community_id must be a community or village",
            {"community_id": [f"is a {place['level']}, not a community or village"]},
        )


def require_grid(registry: Any, grid_id: str, community_id: str) -> None:
    """Raise unless ``grid_id`` names a grid of the community ``community_id``."""
    try:
        place = registry.get_place(grid_id)
    except NotFound:
        raise NotFound(f"grid {grid_id} does not exist", {"grid_id": ["not found"]}) from None
    if place["level"] != "grid":
        raise InvalidInput("grid_id must be a grid", {"grid_id": [f"is a {place['level']}, not a grid"]})
    if place["parent_id"] != community_id:
        raise InvalidInput("the grid lies in another community", {"grid_id": ["not a grid of community_id"]})


def volunteer_skills(registry: Any, volunteer_id: str) -> list[str]:
    """The skill codes the registry holds for ``volunteer_id``; raise a 404 naming
    ``volunteer_id`` when no such volunteer is registered. ``registry`` is an RPC proxy
    of the registry service (the caller's identity travels with the call)."""
    try:
        volunteer = registry.get_volunteer(volunteer_id)
    except NotFound:
        raise NotFound(
            f"volunteer {volunteer_id} is not registered", {"volunteer_id": ["not a registered volunteer"]}
        ) from None
    return list(volunteer["skills"])
