"""A scripted scenario through the public HTTP API that makes each service it starts
publish every one of its event types.

Each service contributes a :class:`Step`; to cover a new service, append its step to
``STEPS``. :func:`services` and :func:`expected_events` follow from the steps, so the
"every event type" assertions widen by themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import requests

from yilin.contract import event_types


class Api:
    """The gateway's ``/api/v1`` over HTTP; any non-2xx raises (same shape as the demo loaders' ``api``)."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = session or requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, self.base + path, timeout=30, **kwargs)
        if not response.ok:
            raise AssertionError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json() if response.content else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, json=json)

    def patch(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", path, json=json)

    def delete(self, path: str) -> dict[str, Any]:
        return self._call("DELETE", path)


@dataclass(frozen=True)
class Step:
    """One service's part: ``run(api, context)`` returns what later steps may need."""

    service: str
    run: Callable[[Api, dict[str, Any]], dict[str, Any]]
    needs: tuple[str, ...] = ()  # other services that must be running for this step


def _id_number(serial: int) -> str:
    from yilin.pii import id_check_digit

    first17 = f"51012419800101{serial:03d}"
    return first17 + id_check_digit(first17)


def registry_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """Places, organisations, a team, volunteers, memberships, a unit, an update, a
    deactivation and a member leaving: every registry event type."""
    places: dict[str, str] = {}
    for code, level, parent in [("PD", "district", None), ("PD-01", "street", "PD"),
                                ("PD-01-01", "community", "PD-01")]:
        places[code] = api.post("/places", {"code": code, "name": code, "level": level,
                                            "parent_id": places.get(parent)})["id"]
    community = places["PD-01-01"]
    organisations = {}
    for code, kind, where in [("PD-SEC", "government_sector", None), ("PD-SWA", "social_work_agency", community),
                              ("PD-VOL", "volunteer_organisation", community)]:
        organisations[code] = api.post("/organisations", {"code": code, "name": code, "kind": kind,
                                                          "community_id": where})["id"]
    team = api.post("/teams", {"code": "SUN", "name": "阳光关爱志愿服务队", "organisation_id": organisations["PD-VOL"],
                               "community_id": community, "skills": ["plumbing", "elder_care"]})
    volunteers = [api.post("/volunteers", {"name": f"志愿者{i}", "id_number": _id_number(100 + i),
                                           "phone": f"1381234{5670 + i}", "community_id": community,
                                           "skills": skills})["id"]
                  for i, skills in enumerate([["plumbing"], ["elder_care", "first_aid"], ["plumbing"]])]
    for volunteer in volunteers[:2]:
        api.post(f"/teams/{team['id']}/members", {"volunteer_id": volunteer})
    api.post(f"/teams/{team['id']}/members", {"volunteer_id": volunteers[2], "role": "lead"})
    api.post("/units", {"name": "1+1+1+N", "community_id": community, "sector_id": organisations["PD-SEC"],
                        "agency_id": organisations["PD-SWA"], "volunteer_organisation_id": organisations["PD-VOL"],
                        "volunteer_ids": volunteers})
    api.patch(f"/volunteers/{volunteers[0]}", {"skills": ["plumbing", "electrics"]})
    api.patch(f"/volunteers/{volunteers[1]}", {"status": "suspended"})
    api.delete(f"/teams/{team['id']}/members/{volunteers[1]}")
    return {
        "communities": [community],
        "organisations": organisations,
        "teams": [{"id": team["id"], "community_id": community, "organisation_id": organisations["PD-VOL"],
                   "skills": team["skills"], "member_ids": [volunteers[0], volunteers[2]]}],
        "volunteers": [volunteers[0], volunteers[2]],  # the active ones
    }


STEPS: list[Step] = [
    Step("registry", registry_step),
]


def services() -> tuple[str, ...]:
    """The services the scenario needs, in ``SERVICES`` (start) order, gateway last."""
    from services import SERVICES

    wanted = {"gateway"} | {s.service for s in STEPS} | {n for s in STEPS for n in s.needs}
    return tuple(n for n in SERVICES if n in wanted)


def expected_events(started: tuple[str, ...] | None = None) -> set[tuple[str, str, int]]:
    """``(source, type, version)`` of every event type the started services publish."""
    return {(t.source, t.name, t.version) for t in event_types(started or services())}


def run(api: Api) -> dict[str, Any]:
    """Run every step in order; return the accumulated context."""
    context: dict[str, Any] = {}
    for step in STEPS:
        context.update(step.run(api, context))
    return context
