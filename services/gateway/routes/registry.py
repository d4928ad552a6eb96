"""Routes for places, organisations, teams, volunteers and service units."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.gateway.routing import Call, api, forwarding
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


forward = forwarding("registry", "teams")

forward(
    "POST",
    "/places",
    "create_place",
    summary="Create a place",
    tag="places",
    body=PlaceIn,
    response=PlaceOut,
    status=201,
    roles=PLACE_EDITORS,
)

forward(
    "GET",
    "/places",
    "list_places",
    summary="List places",
    tag="places",
    query=PlaceQuery,
    response=page_schema(PlaceOut),
    roles=None,
)

forward("GET", "/places/<place_id>", "get_place", summary="Get a place", tag="places", response=PlaceOut, roles=None)

forward(
    "POST",
    "/organisations",
    "create_organisation",
    summary="Register an organisation",
    tag="organisations",
    body=OrganisationIn,
    response=OrganisationOut,
    status=201,
    roles=PLACE_EDITORS,
)

forward(
    "GET",
    "/organisations",
    "list_organisations",
    summary="List organisations",
    tag="organisations",
    query=OrganisationQuery,
    response=page_schema(OrganisationOut),
    roles=None,
)

forward(
    "GET",
    "/organisations/<organisation_id>",
    "get_organisation",
    summary="Get an organisation",
    tag="organisations",
    response=OrganisationOut,
    roles=None,
)

forward(
    "POST",
    "/teams",
    "create_team",
    summary="Create a volunteer team",
    body=TeamIn,
    response=TeamOut,
    status=201,
    roles=ROUTE_MANAGERS,
)

forward("GET", "/teams", "list_teams", summary="List teams", query=TeamQuery, response=page_schema(TeamOut), roles=None)

forward("GET", "/teams/<team_id>", "get_team", summary="Get a team", response=TeamOut, roles=None)

forward(
    "GET",
    "/teams/<team_id>/members",
    "team_members",
    summary="List a team's members",
    response=MemberList,
    roles=VOLUNTEER_READERS,
    items=True,
)

forward(
    "POST",
    "/teams/<team_id>/members",
    "add_member",
    summary="Add a volunteer to a team",
    body=MembershipIn,
    response=MembershipOut,
    status=201,
    roles=ROUTE_MEMBER_EDITORS,
)


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


forward(
    "POST",
    "/volunteers",
    "register_volunteer",
    summary="Register a volunteer",
    tag="volunteers",
    body=VolunteerIn,
    response=VolunteerOut,
    status=201,
    roles=ROUTE_MANAGERS,
)

forward(
    "GET",
    "/volunteers",
    "list_volunteers",
    summary="List volunteers",
    tag="volunteers",
    query=VolunteerQuery,
    response=page_schema(VolunteerOut),
    roles=READERS,
)

forward(
    "GET",
    "/volunteers/<volunteer_id>",
    "get_volunteer",
    summary="Get a volunteer",
    tag="volunteers",
    response=VolunteerOut,
    roles=VOLUNTEER_READERS,
)

forward(
    "PATCH",
    "/volunteers/<volunteer_id>",
    "update_volunteer",
    summary="Update a volunteer",
    tag="volunteers",
    body=VolunteerPatch,
    response=VolunteerOut,
    roles=ROUTE_MANAGERS,
)


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


forward(
    "POST",
    "/units",
    "form_unit",
    summary="Form a 1+1+1+N service unit",
    tag="units",
    body=UnitIn,
    response=UnitOut,
    status=201,
    roles=ROUTE_MANAGERS,
)

forward(
    "GET",
    "/units",
    "list_units",
    summary="List service units",
    tag="units",
    query=UnitQuery,
    response=page_schema(UnitOut),
    roles=None,
)

forward("GET", "/units/<unit_id>", "get_unit", summary="Get a service unit", tag="units", response=UnitOut, roles=None)
