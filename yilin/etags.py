"""Entity tags for conditional updates (RFC 9110 §8.8.3, §13.1.1).

A resource's tag is a digest of its JSON representation, so it changes whenever what a
client reads changes, and the HTTP layer and the owning service compute the same tag
from the same data: the gateway for the ``ETag`` it sends, the service inside the write
transaction (the row locked) when it compares the client's ``If-Match``."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Sequence

from yilin.errors import PreconditionFailed

ANY = "*"

# What a write function is handed to check the current state before it changes anything:
# called with the resource's view, it raises when the client's condition does not hold.
Precondition = Callable[[Any], None]


def no_precondition(_view: Any) -> None:
    """The :data:`Precondition` of an unconditional write."""


def entity_tag(representation: Any) -> str:
    """The strong entity tag (quoted) of a JSON-able ``representation``."""
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def content_tag(content: bytes) -> str:
    """The strong entity tag of a non-JSON representation (a CSV export, a PDF)."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def require_match(if_match: Sequence[str] | None, representation: Any, field: str = "If-Match") -> None:
    """Raise :class:`PreconditionFailed` unless ``representation``'s tag is one of
    ``if_match`` (strong comparison; ``*`` matches any). ``None``: no condition (a caller
    inside the platform that does not ask for one)."""
    if if_match is None or ANY in if_match:
        return
    if entity_tag(representation) not in if_match:
        raise PreconditionFailed(
            "the resource has changed since it was read; read it again and retry with its new ETag",
            {field: ["does not match the current entity tag"]},
        )
