"""Checks other services make against the registry over RPC, written once so every
caller refuses a bad place id with the same error."""

from __future__ import annotations

from typing import Any

from yilin.errors import InvalidInput, NotFound


def require_community(registry: Any, community_id: str) -> None:
    """Raise unless ``community_id`` names a place of level community; ``registry`` is an
    RPC proxy of the registry service."""
    try:
        place = registry.get_place(community_id)
    except NotFound:
        raise NotFound(f"community {community_id} does not exist", {"community_id": ["not found"]}) from None
    if place["level"] != "community":
        raise InvalidInput("community_id must be a community",
                           {"community_id": [f"is a {place['level']}, not a community"]})
