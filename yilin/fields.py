"""Marshmallow fields the kit's and the services' schemas share."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from marshmallow import fields


class UtcDateTime(fields.DateTime):
    """A timestamp that always leaves with its offset. SQLite hands back the naive UTC
    values it stored, and an RFC 3339 ``date-time`` (what the OpenAPI document promises)
    must carry one."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        text = super()._serialize(value, attr, obj, **kwargs)
        return None if text is None else str(text)  # the iso format: already a string


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` and nothing else in a JSON body: marshmallow's Boolean would
    also take ``1``, ``"yes"`` or ``"on"``, which the OpenAPI document does not allow.
    (Query strings, which are text, keep using :class:`fields.Boolean`.)"""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
