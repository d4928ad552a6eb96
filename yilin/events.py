"""The event envelope and the catalogue of event types.

Every event a service publishes is declared here-by-registration: one marshmallow
schema per ``(type, version)``. The same schemas validate on publish, validate on
consume, and generate the published contract (AsyncAPI + JSON Schema)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from marshmallow import Schema, ValidationError, fields, validate


class EnvelopeSchema(Schema):
    """The wrapper around every event's ``data``."""

    id = fields.UUID(required=True, metadata={"description": "Unique event id; consumers de-duplicate on it."})
    type = fields.String(required=True, metadata={"description": "Event type, also the routing key."})
    version = fields.Integer(
        required=True, validate=validate.Range(min=1), metadata={"description": "Schema version of `data`."}
    )
    source = fields.String(required=True, metadata={"description": "Publishing service."})
    occurred_at = fields.DateTime(
        required=True, format="iso", metadata={"description": "When the change committed (UTC, ISO 8601)."}
    )
    correlation_id = fields.String(
        required=True, allow_none=True, metadata={"description": "Id of the request or event chain that caused it."}
    )
    data = fields.Dict(
        required=True, metadata={"description": "The event's payload; its schema depends on type and version."}
    )


_ENVELOPE = EnvelopeSchema()


@dataclass(frozen=True)
class Envelope:
    """A parsed event as handlers see it."""

    id: str
    type: str
    version: int
    source: str
    occurred_at: datetime
    correlation_id: str | None
    data: dict[str, Any]

    def to_message(self) -> dict[str, Any]:
        """The JSON body published on the broker."""
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "source": self.source,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "correlation_id": self.correlation_id,
            "data": self.data,
        }


@functools.cache
def schema_instance(schema: type[Schema]) -> Schema:
    """The one instance of a payload schema class this process uses. A marshmallow
    schema keeps no state between load, dump and validate calls, and building one per
    event was a measurable share of a handler's CPU."""
    return schema()


@dataclass(frozen=True)
class EventType:
    """One registered ``(type, version)`` with its payload schema."""

    source: str
    name: str
    version: int
    schema: type[Schema]
    summary: str

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Serialise ``data`` through the schema and check it; raise ``ValueError`` if
        the payload does not match (a programming error on the publishing side)."""
        schema = schema_instance(self.schema)
        try:
            dumped: dict[str, Any] = schema.dump(data)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{self.name} v{self.version} payload invalid: {exc}") from None
        errors = schema.validate(dumped)
        if errors:
            raise ValueError(f"{self.name} v{self.version} payload invalid: {errors}")
        return dumped


class EventCatalogue:
    """The event types one service publishes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._types: dict[tuple[str, int], EventType] = {}

    def define(self, name: str, version: int = 1, summary: str = "") -> Callable[[type[Schema]], type[Schema]]:
        """Class decorator registering a payload schema for ``name`` at ``version``."""

        def register(schema: type[Schema]) -> type[Schema]:
            key = (name, version)
            if key in self._types:
                raise ValueError(f"event {name} v{version} defined twice")
            doc = summary or " ".join((schema.__doc__ or "").split())  # a wrapped docstring is one sentence
            self._types[key] = EventType(self.source, name, version, schema, doc)
            return schema

        return register

    def get(self, name: str, version: int | None = None) -> EventType:
        """The registered type; ``version=None`` means the latest."""
        if version is None:
            versions = [v for (n, v) in self._types if n == name]
            if not versions:
                raise KeyError(f"{self.source} publishes no event {name}")
            version = max(versions)
        return self._types[(name, version)]

    def __iter__(self) -> Iterator[EventType]:
        return iter(sorted(self._types.values(), key=lambda t: (t.name, t.version)))

    def envelope(
        self, name: str, data: dict[str, Any], correlation_id: str | None, version: int | None = None
    ) -> Envelope:
        """Build a validated envelope for a new event of this service."""
        event_type = self.get(name, version)
        return Envelope(
            id=str(uuid.uuid4()),
            type=name,
            version=event_type.version,
            source=self.source,
            occurred_at=datetime.now(timezone.utc),
            correlation_id=correlation_id,
            data=event_type.validate(data),
        )


def parse_envelope(body: Any) -> Envelope:
    """Check a consumed message against the envelope schema."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["event body must be a JSON object"]})
    loaded = _ENVELOPE.load(body, unknown="exclude")
    occurred = loaded["occurred_at"]
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=timezone.utc)
    return Envelope(
        id=str(loaded["id"]),
        type=loaded["type"],
        version=loaded["version"],
        source=loaded["source"],
        occurred_at=occurred,
        correlation_id=loaded["correlation_id"],
        data=loaded["data"],
    )
