"""The figures of each public page, each from one function over the services' RPC (the
calls the JSON API makes). ``rpc(service)`` returns that service's read proxy.

The district page adds the district indicators of the year, gathered as
``GET /api/v1/indicators`` gathers them (services.gateway.indicators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterator

import eventlet

from services.district import LOCAL_TIME
from services.gateway.indicators import gather
from yilin.errors import InvalidInput

Rpc = Callable[[str], Any]
PAGE = 200


def this_year() -> int:
    """The current calendar year in China Standard Time."""
    return datetime.now(LOCAL_TIME).year


def parse_year(raw: str | None) -> int:
    """``?year=`` of a page: absent means this year; anything else must be a year."""
    if raw in (None, ""):
        return this_year()
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise InvalidInput("year must be a calendar year such as 2026", {"year": ["not a year between 2000 and 2100"]})
    return int(raw)


def fund_report(rpc: Rpc, community_id: str, year: int) -> dict[str, Any]:
    """A community pool's transparency report for a year, with the community's name."""
    place = rpc("registry").get_place(community_id)
    report = rpc("fund").transparency_report(community_id, {"year": year})
    return {**report, "community_name": place["name"]}


def certificate_check(rpc: Rpc, number: str) -> dict[str, Any]:
    """What a resident may see of a genuine certificate: no name, no ID or phone number."""
    result = rpc("hours").verify_certificate({"number": number})
    cert = result["certificate"]
    return {
        "valid": result["valid"],
        "number": cert["number"],
        "minutes": cert["minutes"],
        "period_from": cert["from"],
        "period_to": cert["to"],  # the API names them from/to
        "organisation_name": cert["organisation_name"],
        "service_content": cert["service_content"],
        "issued_on": cert["issued_on"],
    }


def _all(list_call: Callable[[dict[str, Any]], dict[str, Any]], query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = list_call({**query, "limit": PAGE, **({"cursor": cursor} if cursor else {})})
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def district_indicators(rpc: Rpc, year: int) -> dict[str, Any]:
    """The district's public figures: communities, volunteer teams, and the community
    funds (balances now; contributions and payments in ``year``)."""
    communities = sorted(_all(rpc("registry").list_places, {"level": "community"}), key=lambda p: p["code"])
    teams = list(_all(rpc("registry").list_teams, {}))

    def one(place: dict[str, Any]) -> dict[str, Any]:
        report = rpc("fund").transparency_report(place["id"], {"year": year})
        return {
            "id": place["id"],
            "name": place["name"],
            "balance_fen": report["closing_balance_fen"],
            "contributions_fen": report["contributions_fen"],
            "disbursements_fen": report["disbursements_fen"],
            "disbursement_count": len(report["disbursements"]),
        }

    pool = eventlet.GreenPool(8)
    funds = list(pool.imap(one, communities))
    # The district's own figures for the year, as GET /api/v1/indicators gives them.
    report = gather(rpc, {"from": f"{year}-01-01", "to": f"{year}-12-31"})
    return {
        "year": year,
        "indicators": report["figures"],
        "communities": len(communities),
        "teams": len(teams),
        "professional_teams": sum(1 for t in teams if t.get("professional")),
        "balance_fen": sum(f["balance_fen"] for f in funds),
        "contributions_fen": sum(f["contributions_fen"] for f in funds),
        "disbursements_fen": sum(f["disbursements_fen"] for f in funds),
        "disbursement_count": sum(f["disbursement_count"] for f in funds),
        "funds": funds,
    }
