"""Routes for the district's structure: grids and their cadres, dispatch candidates and
the registry's counts."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.gateway.routes.registry import READERS
from services.gateway.routing import Call, api, forwarding
from services.registry.permissions import PLACE_EDITORS
from services.registry.schemas import CadreIn, CadreOut, CadreQuery, CandidateOut, GridOut, RegistryCounts
from yilin.paging import page_schema


class CandidateQuery(Schema):
    community_id = fields.UUID(required=True)
    skill = fields.String(required=True)


class CandidateList(Schema):
    items = fields.List(fields.Nested(CandidateOut), required=True)


forward = forwarding("registry", "places")

forward(
    "GET",
    "/grids/<grid_id>",
    "get_grid",
    summary="Get a grid with its community and cadres",
    response=GridOut,
    roles=None,
)

forward(
    "POST",
    "/cadres",
    "create_cadre",
    summary="Place a party-member cadre on grids",
    body=CadreIn,
    response=CadreOut,
    status=201,
    roles=PLACE_EDITORS,  # the district's structure is the operator's
)

forward(
    "GET",
    "/cadres",
    "list_cadres",
    summary="List cadres",
    query=CadreQuery,
    response=page_schema(CadreOut),
    roles=READERS,
)


@api(
    "GET",
    "/candidates",
    summary="Teams and partners offering a skill in a community",
    tag="teams",
    query=CandidateQuery,
    response=CandidateList,
    roles=READERS,
)
def find_candidates(call: Call) -> dict:
    return {"items": call.rpc("registry").find_candidates(str(call.query["community_id"]), call.query["skill"])}


forward(
    "GET",
    "/registry/counts",
    "counts",
    summary="What the registry holds, in the district's terms",
    response=RegistryCounts,
    roles=READERS,
)
