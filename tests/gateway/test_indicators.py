"""The district indicators: assembled by the gateway from every service's
``indicator_counts`` RPC, listed in the OpenAPI document, non-zero on the demo district,
kept as Prometheus gauges a timer refreshes, and the district-scale counts after the
district-scale load."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

import requests

from services.demo import DemoApi, load_demo
from services.district import LOCAL_TIME
from services.district_scale import DISTRICT, load_district
from services.gateway.indicators import DISTRICT_INDICATOR
from services.indicators import FIGURES, SOURCES
from tests.harness import Stack
from tests.polling import wait_until
from tests.security.credentials import bearer

SERVICES = ("registry", "tickets", "hours", "fund", "activities", "gateway")


def gauge(name: str) -> float:
    return float(DISTRICT_INDICATOR.labels("gateway", name)._value.get())  # the in-process registry's value


def test_indicators_on_the_demo_and_at_district_scale(
    make_config: Callable[..., dict[str, Any]], container_factory: Any, pg_url: str, http: requests.Session
) -> None:
    config = make_config(pg_url, GATEWAY_INDICATORS_INTERVAL=0.5)
    s = Stack.start(SERVICES, config, container_factory)
    api = f"{s.url}/api/v1"
    document = http.get(f"{s.url}/openapi.json").json()
    assert "/api/v1/indicators" in document["paths"]
    assert {p["in"] for p in document["paths"]["/api/v1/indicators"]["get"]["parameters"]} == {"query"}

    assert load_demo(s.url, DemoApi(s.url, identity_headers=bearer, session=http))["loaded"]

    def report() -> dict[str, Any]:
        r = requests.get(f"{api}/indicators", headers=bearer("resident"), timeout=30)  # any signed-in person
        assert r.status_code == 200, r.text
        return r.json()

    # Hours are verified from ticket events, so they arrive a moment after the demo.
    figures = wait_until(lambda: (f := report()["figures"]).get("verified_hours") and f, 30, "verified hours")
    body = report()
    assert body["sources"] == {source: "ok" for source in SOURCES}
    assert set(body["figures"]) >= {name for names in FIGURES.values() for name in names}
    for name in ("teams", "volunteers", "verified_hours", "suggestions_collected", "disputes_handled"):
        assert figures[name] > 0, name
    assert figures["suggestions_collected"] == 4 and figures["suggestions_answered"] == 2
    assert figures["suggestions_acted_on"] == 1  # the parking bays, requested from the fund
    assert figures["disputes_handled"] == 1 and figures["dispute_satisfaction_rate"] == 1.0
    assert figures["fund_in_fen"] > 0 and figures["fund_out_fen"] > 0
    assert figures["projects"] > 0 and figures["activities"] > 0 and figures["beneficiary_visits"] > 0
    assert figures["teams"] == http.get(f"{api}/registry/counts").json()["teams"]
    # The public district page (no login) shows the year's figures.
    page = requests.get(f"{s.url}/pages/district", timeout=30)
    assert page.status_code == 200
    for name in ("suggestions_collected", "disputes_handled", "volunteers"):
        assert f'data-figure="indicator_{name}">{int(figures[name])}<' in page.text, name

    # A period: tomorrow onwards holds no flows, while the registry's stock stays.
    today = datetime.now(LOCAL_TIME).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    later = requests.get(f"{api}/indicators", params={"from": tomorrow}, headers=bearer("resident"), timeout=30)
    assert later.status_code == 200
    assert later.json()["figures"]["suggestions_collected"] == 0 and later.json()["figures"]["verified_hours"] == 0
    assert later.json()["figures"]["teams"] == figures["teams"]
    r = requests.get(
        f"{api}/indicators", params={"from": tomorrow, "to": today.isoformat()}, headers=bearer("resident")
    )
    assert r.status_code == 422 and "to" in r.text
    r = requests.get(f"{api}/indicators", params={"from": "yesterday"}, headers=bearer("resident"))
    assert r.status_code == 422 and "from" in r.text
    assert requests.get(f"{api}/indicators", timeout=30).status_code == 401

    # The gauges follow the data without anyone asking for the report.
    wait_until(lambda: gauge("suggestions_collected") == 4, 10, "the suggestions gauge")
    assert gauge("teams") == figures["teams"]
    # hours may still be arriving from the demo's events: the gauge meets the report's latest figure
    wait_until(lambda: gauge("verified_hours") == report()["figures"]["verified_hours"], 10, "the hours gauge")

    # At the district's scale (divided, to stay small): the registry's figures are the district's.
    scale = DISTRICT.divided(1000)
    summary = load_district(config, scale, progress=False, echo=lambda line: None)
    after = report()["figures"]
    counts, targets = summary["counts"], summary["targets"]
    for name in ("teams", "professional_teams", "volunteers", "certified_social_workers", "partners", "cadres"):
        # the district's figures on top of the demo's few
        assert after[name] == counts[name] >= targets[name] and counts[name] - figures[name] >= targets[name], name
    assert summary["indicators"]["volunteers"] == counts["volunteers"] >= scale.volunteers
    wait_until(lambda: gauge("volunteers") == counts["volunteers"], 10, "the volunteers gauge at district scale")
