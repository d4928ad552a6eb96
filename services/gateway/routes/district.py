"""Routes for the district's structure: grids and their cadres, dispatch candidates and
the registry's counts."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.gateway.routes.registry import READERS
from services.gateway.routing import Call, api
from services.registry.permissions import PLACE_EDITORS
from services.registry.schemas import CadreIn, CadreOut, CadreQuery, CandidateOut, GridOut, RegistryCounts
from yilin.paging import page_schema


class CandidateQuery(Schema):
    community_id = fields.UUID(required=True)
    skill = fields.String(required=True)


class CandidateList(Schema):
    items = fields.List(fields.Nested(CandidateOut), required=True)


@api(
    "GET",
    "/grids/<grid_id>",
    summary="Get a grid with its community and cadres",
    tag="places",
    response=GridOut,
    roles=None,
)
def get_grid(call: Call) -> dict:
    return call.rpc("registry").get_grid(call.path["grid_id"])


@api(
    "POST",
    "/cadres",
    summary="Place a party-member cadre on grids",
    tag="places",
    body=CadreIn,
    response=CadreOut,
    status=201,
    roles=PLACE_EDITORS,  # the district's structure is the operator's
)
def create_cadre(call: Call) -> dict:
    return call.rpc("registry").create_cadre(call.body)


@api(
    "GET",
    "/cadres",
    summary="List cadres",
    tag="places",
    query=CadreQuery,
    response=page_schema(CadreOut),
    roles=READERS,
)
def list_cadres(call: Call) -> dict:
    return call.rpc("registry").list_cadres(call.query)


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


@api(
    "GET",
    "/registry/counts",
    summary="What the registry holds, in the district's terms",
    tag="places",
    response=RegistryCounts,
    roles=READERS,
)
def counts(call: Call) -> dict:
    return call.rpc("registry").counts()
