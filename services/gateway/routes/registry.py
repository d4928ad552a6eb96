"""Routes for places, organisations, teams, volunteers and service units."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.gateway.routing import Call, api
from services.registry.permissions import (
    PLACE_EDITORS,
    READERS,
    ROUTE_MANAGERS,
    ROUTE_MEMBER_EDITORS,
    VOLUNTEER_READERS,
)
from services.registry.schemas import (
    ImportResult,
    MemberOut,
    MembershipIn,
    MembershipOut,
    OrganisationIn,
    OrganisationOut,
    OrganisationQuery,
    PlaceIn,
    PlaceOut,
    PlaceQuery,
    TeamIn,
    TeamOut,
    TeamQuery,
    UnitIn,
    UnitOut,
    UnitQuery,
    VolunteerIn,
    VolunteerOut,
    VolunteerPatch,
    VolunteerQuery,
)
from yilin.paging import page_schema


class ImportBody(Schema):
    rows = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(1, 5000),
        metadata={"description": "Volunteer records in the shape of VolunteerIn."},
    )


class MemberList(Schema):
    items = fields.List(fields.Nested(MemberOut), required=True)


@api(
    "POST",
    "/places",
    summary="Create a place",
    tag="places",
    body=PlaceIn,
    response=PlaceOut,
    status=201,
    roles=PLACE_EDITORS,
)
def create_place(call: Call) -> dict:
    return call.rpc("registry").create_place(call.body)


@api(
    "GET", "/places", summary="List places", tag="places", query=PlaceQuery, response=page_schema(PlaceOut), roles=None
)
def list_places(call: Call) -> dict:
    return call.rpc("registry").list_places(call.query)


@api("GET", "/places/<place_id>", summary="Get a place", tag="places", response=PlaceOut, roles=None)
def get_place(call: Call) -> dict:
    return call.rpc("registry").get_place(call.path["place_id"])


@api(
    "POST",
    "/organisations",
    summary="Register an organisation",
    tag="organisations",
    body=OrganisationIn,
    response=OrganisationOut,
    status=201,
    roles=PLACE_EDITORS,
)
def create_organisation(call: Call) -> dict:
    return call.rpc("registry").create_organisation(call.body)


@api(
    "GET",
    "/organisations",
    summary="List organisations",
    tag="organisations",
    query=OrganisationQuery,
    response=page_schema(OrganisationOut),
    roles=None,
)
def list_organisations(call: Call) -> dict:
    return call.rpc("registry").list_organisations(call.query)


@api(
    "GET",
    "/organisations/<organisation_id>",
    summary="Get an organisation",
    tag="organisations",
    response=OrganisationOut,
    roles=None,
)
def get_organisation(call: Call) -> dict:
    return call.rpc("registry").get_organisation(call.path["organisation_id"])


@api(
    "POST",
    "/teams",
    summary="Create a volunteer team",
    tag="teams",
    body=TeamIn,
    response=TeamOut,
    status=201,
    roles=ROUTE_MANAGERS,
)
def create_team(call: Call) -> dict:
    return call.rpc("registry").create_team(call.body)


@api("GET", "/teams", summary="List teams", tag="teams", query=TeamQuery, response=page_schema(TeamOut), roles=None)
def list_teams(call: Call) -> dict:
    return call.rpc("registry").list_teams(call.query)


@api("GET", "/teams/<team_id>", summary="Get a team", tag="teams", response=TeamOut, roles=None)
def get_team(call: Call) -> dict:
    return call.rpc("registry").get_team(call.path["team_id"])


@api(
    "GET",
    "/teams/<team_id>/members",
    summary="List a team's members",
    tag="teams",
    response=MemberList,
    roles=VOLUNTEER_READERS,
)
def team_members(call: Call) -> dict:
    return {"items": call.rpc("registry").team_members(call.path["team_id"])}


@api(
    "POST",
    "/teams/<team_id>/members",
    summary="Add a volunteer to a team",
    tag="teams",
    body=MembershipIn,
    response=MembershipOut,
    status=201,
    roles=ROUTE_MEMBER_EDITORS,
)
def add_member(call: Call) -> dict:
    return call.rpc("registry").add_member(call.path["team_id"], call.body)


@api(
    "DELETE",
    "/teams/<team_id>/members/<volunteer_id>",
    summary="Remove a volunteer from a team",
    tag="teams",
    status=204,
    roles=ROUTE_MEMBER_EDITORS,
)
def remove_member(call: Call) -> None:
    call.rpc("registry").remove_member(call.path["team_id"], call.path["volunteer_id"])


@api(
    "POST",
    "/volunteers",
    summary="Register a volunteer",
    tag="volunteers",
    body=VolunteerIn,
    response=VolunteerOut,
    status=201,
    roles=ROUTE_MANAGERS,
)
def register_volunteer(call: Call) -> dict:
    return call.rpc("registry").register_volunteer(call.body)


@api(
    "GET",
    "/volunteers",
    summary="List volunteers",
    tag="volunteers",
    query=VolunteerQuery,
    response=page_schema(VolunteerOut),
    roles=READERS,
)
def list_volunteers(call: Call) -> dict:
    return call.rpc("registry").list_volunteers(call.query)


@api(
    "GET",
    "/volunteers/<volunteer_id>",
    summary="Get a volunteer",
    tag="volunteers",
    response=VolunteerOut,
    roles=VOLUNTEER_READERS,
)
def get_volunteer(call: Call) -> dict:
    return call.rpc("registry").get_volunteer(call.path["volunteer_id"])


@api(
    "PATCH",
    "/volunteers/<volunteer_id>",
    summary="Update a volunteer",
    tag="volunteers",
    body=VolunteerPatch,
    response=VolunteerOut,
    roles=ROUTE_MANAGERS,
)
def update_volunteer(call: Call) -> dict:
    return call.rpc("registry").update_volunteer(call.path["volunteer_id"], call.body, if_match=call.if_match)


@api(
    "POST",
    "/volunteers/import",
    summary="Import a batch of volunteers",
    tag="volunteers",
    body=ImportBody,
    response=ImportResult,
    roles=ROUTE_MANAGERS,
)
def import_volunteers(call: Call) -> dict:
    return call.rpc("registry").import_volunteers(call.body["rows"])


@api(
    "POST",
    "/units",
    summary="Form a 1+1+1+N service unit",
    tag="units",
    body=UnitIn,
    response=UnitOut,
    status=201,
    roles=ROUTE_MANAGERS,
)
def form_unit(call: Call) -> dict:
    return call.rpc("registry").form_unit(call.body)


@api(
    "GET",
    "/units",
    summary="List service units",
    tag="units",
    query=UnitQuery,
    response=page_schema(UnitOut),
    roles=None,
)
def list_units(call: Call) -> dict:
    return call.rpc("registry").list_units(call.query)


@api("GET", "/units/<unit_id>", summary="Get a service unit", tag="units", response=UnitOut, roles=None)
def get_unit(call: Call) -> dict:
    return call.rpc("registry").get_unit(call.path["unit_id"])
