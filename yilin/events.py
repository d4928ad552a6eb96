"""The event envelope and the catalogue of event types.

Every event a service publishes is declared here-by-registration: one marshmallow
schema per ``(type, version)``. The same schemas validate on publish, validate on
consume, and generate the published contract (AsyncAPI + JSON Schema).

On the wire an event is a CloudEvent 1.0 in structured content mode: the AMQP body is
the JSON CloudEvent, ``content_type`` ``application/cloudevents+json``. Consumers also
read the first envelope (``{id, type, version, source, occurred_at, correlation_id,
data}``), so queues holding such messages drain during an upgrade. Either way handlers
see the same :class:`Envelope`."""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from kombu.serialization import register as register_serializer
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from yilin.flatschema import Dump, Load, compile_dump, compile_load

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"  # structured content mode
LEGACY_CONTENT_TYPE = "application/json"  # the first envelope's
SERIALIZER = "cloudevents"  # kombu's name for the content type (registered below)
TYPE_PREFIX = "org.yilin."  # reverse-DNS prefix of every CloudEvents ``type``
SOURCE_PREFIX = "urn:yilin:service:"  # + the publishing service's name
SCHEMA_PREFIX = "urn:yilin:schema:"  # + "<type>:v<version>": the ``$id`` of docs/events/<type>.v<version>.json

# kombu decodes a delivery by its content type; consumers add SERIALIZER to what they accept.
register_serializer(
    SERIALIZER,
    lambda body: json.dumps(body, ensure_ascii=False),
    json.loads,
    content_type=CONTENT_TYPE,
    content_encoding="utf-8",
)


def source_uri(service: str) -> str:
    """The CloudEvents ``source`` of a service's events."""
    return SOURCE_PREFIX + service


def schema_uri(name: str, version: int) -> str:
    """The CloudEvents ``dataschema`` of an event type's payload at ``version``: the
    ``$id`` of its published JSON Schema, docs/events/<name>.v<version>.json."""
    return f"{SCHEMA_PREFIX}{name}:v{version}"


class EnvelopeSchema(Schema):
    """The first envelope around an event's ``data``, still read from older messages."""

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


class CloudEventSchema(Schema):
    """A Yilin event as a CloudEvent 1.0 (JSON format, structured content mode)."""

    specversion = fields.String(
        required=True, validate=validate.Equal(SPECVERSION), metadata={"description": "CloudEvents version."}
    )
    id = fields.UUID(required=True, metadata={"description": "Unique event id; consumers de-duplicate on it."})
    source = fields.String(
        required=True,
        validate=validate.Regexp(f"^{re.escape(SOURCE_PREFIX)}[a-z][a-z0-9_-]*$"),
        metadata={"description": f"The publishing service, as `{SOURCE_PREFIX}<service>`."},
    )
    type = fields.String(
        required=True,
        validate=validate.Regexp(f"^{re.escape(TYPE_PREFIX)}[a-z0-9_.]+$"),
        metadata={"description": f"`{TYPE_PREFIX}` + the event type; the routing key is the part after the prefix."},
    )
    time = fields.DateTime(
        required=True, format="iso", metadata={"description": "When the change committed (UTC, RFC 3339)."}
    )
    datacontenttype = fields.String(
        required=True, validate=validate.Equal("application/json"), metadata={"description": "Always JSON."}
    )
    dataschema = fields.String(
        required=True,
        validate=validate.Regexp(f"^{re.escape(SCHEMA_PREFIX)}"),
        metadata={
            "description": "The `$id` of the JSON Schema `data` follows, published as "
            "docs/events/<type>.v<dataversion>.json."
        },
    )
    dataversion = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "Extension attribute: schema version of `data`."},
    )
    correlationid = fields.String(
        metadata={"description": "Extension attribute: id of the request or event chain that caused it (if any)."}
    )
    traceparent = fields.String(
        metadata={"description": "Extension attribute (CloudEvents distributed tracing): W3C trace context."}
    )
    data = fields.Dict(
        required=True, metadata={"description": "The event's payload; its schema is named by `dataschema`."}
    )


_CLOUDEVENT = CloudEventSchema()


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
        """The JSON body published on the broker: the structured-mode CloudEvent."""
        message = {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": source_uri(self.source),
            "type": TYPE_PREFIX + self.type,
            "time": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "dataschema": schema_uri(self.type, self.version),
            "dataversion": self.version,
            "data": self.data,
        }
        if self.correlation_id is not None:  # an absent attribute, never a null one
            message["correlationid"] = self.correlation_id
        return message


@functools.cache
def schema_instance(schema: type[Schema]) -> Schema:
    """The one instance of a payload schema class this process uses. A marshmallow
    schema keeps no state between load, dump and validate calls, and building one per
    event was a measurable share of a handler's CPU."""
    return schema()


@functools.cache
def compiled_dump(schema: type[Schema]) -> Dump | None:
    """The schema's compiled dump-and-check (:mod:`yilin.flatschema`), built once."""
    return compile_dump(schema_instance(schema))


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
        the payload does not match (a programming error on the publishing side). A
        flat schema's compiled check vouches for the usual payload; marshmallow judges
        the rest."""
        fast = compiled_dump(self.schema)
        if fast is not None:
            vouched = fast(data)
            if vouched is not None:
                return vouched
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
        self._latest: dict[str, int] = {}  # name → its highest version (``get`` runs once per event)

    def define(self, name: str, version: int = 1, summary: str = "") -> Callable[[type[Schema]], type[Schema]]:
        """Class decorator registering a payload schema for ``name`` at ``version``."""

        def register(schema: type[Schema]) -> type[Schema]:
            key = (name, version)
            if key in self._types:
                raise ValueError(f"event {name} v{version} defined twice")
            doc = summary or " ".join((schema.__doc__ or "").split())  # a wrapped docstring is one sentence
            self._types[key] = EventType(self.source, name, version, schema, doc)
            self._latest[name] = max(version, self._latest.get(name, version))
            return schema

        return register

    def get(self, name: str, version: int | None = None) -> EventType:
        """The registered type; ``version=None`` means the latest."""
        if version is None:
            if name not in self._latest:
                raise KeyError(f"{self.source} publishes no event {name}")
            version = self._latest[name]
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


def is_cloudevent(body: Any) -> bool:
    """Whether a message body is a CloudEvent (else it is in the first envelope)."""
    return isinstance(body, dict) and "specversion" in body


def content_type(body: Any) -> str:
    """The AMQP content type a message body is published with."""
    return CONTENT_TYPE if is_cloudevent(body) else LEGACY_CONTENT_TYPE


def serializer(body: Any) -> str:
    """kombu's serializer name for a message body (see :func:`content_type`)."""
    return SERIALIZER if is_cloudevent(body) else "json"


def routing_key(body: dict[str, Any]) -> str:
    """The routing key of an event in either format: its type without the prefix."""
    kind = str(body.get("type", ""))
    return kind[len(TYPE_PREFIX) :] if is_cloudevent(body) and kind.startswith(TYPE_PREFIX) else kind


def correlation_of(body: Any) -> str | None:
    """The correlation id an event in either format carries, if any."""
    if not isinstance(body, dict):
        return None
    value = body.get("correlationid") if is_cloudevent(body) else body.get("correlation_id")
    return value if isinstance(value, str) and value else None


# Both envelopes read by the compiled loader (yilin.flatschema), in a quarter of the time
# marshmallow's field machinery takes. What it vouches for marshmallow loads to the
# same dict; anything else (a UUID in another spelling, a null, a failing validator)
# marshmallow loads, or refuses naming the field.
_ENVELOPE_LOAD = compile_load(_ENVELOPE, unknown=EXCLUDE)
_CLOUDEVENT_LOAD = compile_load(_CLOUDEVENT, unknown=EXCLUDE)


def _load(schema: Schema, compiled: Load | None, body: dict[str, Any]) -> dict[str, Any]:
    loaded = compiled(body) if compiled is not None else None
    return loaded if loaded is not None else schema.load(body, unknown=EXCLUDE)


def parse_envelope(body: Any) -> Envelope:
    """Check a consumed message, a CloudEvent or the first envelope, and return the
    event as handlers see it; raise ``ValidationError`` if it is neither."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["event body must be a JSON object"]})
    if is_cloudevent(body):
        return _from_cloudevent(body)
    loaded = _load(_ENVELOPE, _ENVELOPE_LOAD, body)
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


def _from_cloudevent(body: dict[str, Any]) -> Envelope:
    loaded = _load(_CLOUDEVENT, _CLOUDEVENT_LOAD, body)
    name = loaded["type"][len(TYPE_PREFIX) :]
    if loaded["dataschema"] != schema_uri(name, loaded["dataversion"]):
        raise ValidationError({"dataschema": [f"does not name {name} v{loaded['dataversion']}"]})
    occurred = loaded["time"]
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=timezone.utc)
    return Envelope(
        id=str(loaded["id"]),
        type=name,
        version=loaded["dataversion"],
        source=loaded["source"][len(SOURCE_PREFIX) :],
        occurred_at=occurred,
        correlation_id=loaded.get("correlationid"),
        data=loaded["data"],
    )
