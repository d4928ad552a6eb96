"""The audit trail of any service: ``GET /api/v1/audit?service=registry``.

Every service behind the gateway (``BACKENDS``: its ``SERVICES`` but itself) answers
``audit_log`` (the kit's :class:`yilin.audit.AuditLogRpc`), so a new service is covered
without touching this. The gateway itself changes nothing worth auditing and has no RPC
proxy to itself, so it is not a choice."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from services.gateway.routing import BACKENDS, Call, api
from services.roles import AUDIT_READERS
from yilin.audit import AuditPage, AuditQuery


class ServiceName(validate.Validator):
    """One of the gateway's services; ``choices`` also becomes the OpenAPI enum."""

    @property
    def choices(self) -> tuple[str, ...]:
        return BACKENDS

    def __call__(self, value: Any) -> Any:
        if value not in self.choices:
            raise ValidationError(f"must be one of: {', '.join(self.choices)}")
        return value


class AuditRouteQuery(AuditQuery):
    service = fields.String(
        required=True, validate=ServiceName(), metadata={"description": "The service whose trail to read."}
    )


@api(
    "GET",
    "/audit",
    summary="Read a service's audit trail",
    tag="audit",
    query=AuditRouteQuery,
    response=AuditPage,
    roles=AUDIT_READERS,
)
def audit_log(call: Call) -> dict:
    query = {k: v for k, v in call.query.items() if k != "service"}
    return call.rpc(call.query["service"]).audit_log(query)
