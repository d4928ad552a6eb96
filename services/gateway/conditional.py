"""Conditional updates (RFC 9110 §13.1.1, RFC 6585 §3): every PATCH and PUT needs an
``If-Match`` header. Missing → 428; not a list of entity tags → 400; the tags go to the
owning service, which compares them with the resource's current tag inside its write
transaction, the row locked, and answers 412 when none matches. A weak tag (``W/"…"``)
never matches: ``If-Match`` compares strongly."""

from __future__ import annotations

import re

from services.gateway.problems import InvalidPrecondition, PreconditionRequired
from yilin.etags import ANY

HEADER = "If-Match"
METHODS = ("PATCH", "PUT")
# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*')
# The whole header, for the OpenAPI document (ASCII tags: what clients send back).
PATTERN = r'^(\*|(W/)?"[\x21\x23-\x7e]*"( *, *(W/)?"[\x21\x23-\x7e]*")*)$'


def if_match(header: str | None) -> list[str]:
    """The strong tags of an ``If-Match`` header (``["*"]`` for ``*``)."""
    if header is None:
        raise PreconditionRequired(
            f"this update needs an {HEADER} header with the resource's current ETag (read it with GET first)",
            {HEADER: ["required"]},
        )
    if header.strip() == ANY:
        return [ANY]
    tags: list[str] = []
    for part in header.split(","):
        match = _TAG.fullmatch(part)
        if match is None:
            raise InvalidPrecondition(
                f'{HEADER} must be "*" or a comma-separated list of quoted entity tags',
                {HEADER: ["malformed entity tag list"]},
            )
        if match.group(1) is None:
            tags.append(match.group(2))
    return tags
