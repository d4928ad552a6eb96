"""A scripted scenario through the public HTTP API that makes each service it starts
publish every one of its event types.

Each service contributes a :class:`Step`; to cover a new service, append its step to
``STEPS``. :func:`services` and :func:`expected_events` follow from the steps, so the
"every event type" assertions widen by themselves.

The steps act only over HTTP, through whatever session the caller gives :class:`Api`
(the ``http`` fixture, which carries the caller's credentials), with one exception: the
tickets service never reopens a confirmed ticket, so no HTTP call can make the hours
service take back verified ticket time (``hours.unverified``); the hours step publishes
that ``ticket.reopened`` itself, exactly as the tickets schema defines it, when the run's
context names the broker (``amqp_uri``)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import requests

from tests.harness import if_match
from yilinctl.contract import event_types


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

    def post(self, path: str, json: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        return self._call("POST", path, json=json, **({"headers": headers} if headers else {}))

    def patch(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        """A conditional update, as clients make it: read the ETag, send it in If-Match."""
        return self._call("PATCH", path, json=json, headers=if_match(self.http, self.base + path))

    def delete(self, path: str) -> dict[str, Any]:
        return self._call("DELETE", path)


@dataclass(frozen=True)
class Step:
    """One service's part: ``run(api, context)`` returns what later steps may need."""

    service: str
    run: Callable[[Api, dict[str, Any]], dict[str, Any]]
    needs: tuple[str, ...] = ()  # other services that must be running for this step


def _id_number(serial: int) -> str:
    from services.registry.id_numbers import id_check_digit

    first17 = f"51012419800101{serial:03d}"
    return first17 + id_check_digit(first17)


def registry_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """Places, organisations, a team, volunteers, memberships, a unit, an update, a
    deactivation and a member leaving: every registry event type."""
    places: dict[str, str] = {}
    for code, level, parent in [
        ("PD", "district", None),
        ("PD-01", "street", "PD"),
        ("PD-01-01", "community", "PD-01"),
        ("PD-01-01-G1", "grid", "PD-01-01"),
    ]:
        places[code] = api.post(
            "/places", {"code": code, "name": code, "level": level, "parent_id": places.get(parent)}
        )["id"]
    community = places["PD-01-01"]
    organisations = {}
    for code, kind, where in [
        ("PD-SEC", "government_sector", None),
        ("PD-SWA", "social_work_agency", community),
        ("PD-VOL", "volunteer_organisation", community),
        ("PD-SBJ", "community_partner", None),
    ]:
        organisations[code] = api.post(
            "/organisations",
            {
                "code": code,
                "name": code,
                "kind": kind,
                "community_id": where,
                "covers": [community],
                "services": ["locksmith"],
            },
        )["id"]
    api.post(
        "/cadres",
        {
            "code": "CADRE-1",
            "name": "网格干部",
            "organisation_id": organisations["PD-SEC"],
            "grid_ids": [places["PD-01-01-G1"]],
        },
    )
    team = api.post(
        "/teams",
        {
            "code": "SUN",
            "name": "阳光关爱志愿服务队",
            "organisation_id": organisations["PD-VOL"],
            "community_id": community,
            "skills": ["plumbing", "elder_care"],
        },
    )
    volunteers = [
        api.post(
            "/volunteers",
            {
                "name": f"志愿者{i}",
                "id_number": _id_number(100 + i),
                "phone": f"1381234{5670 + i}",
                "community_id": community,
                "skills": skills,
            },
        )["id"]
        for i, skills in enumerate([["plumbing"], ["elder_care", "first_aid"], ["plumbing"]])
    ]
    for volunteer in volunteers[:2]:
        api.post(f"/teams/{team['id']}/members", {"volunteer_id": volunteer})
    api.post(f"/teams/{team['id']}/members", {"volunteer_id": volunteers[2], "role": "lead"})
    api.post(
        "/units",
        {
            "name": "1+1+1+N",
            "community_id": community,
            "sector_id": organisations["PD-SEC"],
            "agency_id": organisations["PD-SWA"],
            "volunteer_organisation_id": organisations["PD-VOL"],
            "volunteer_ids": volunteers,
        },
    )
    api.patch(f"/volunteers/{volunteers[0]}", {"skills": ["plumbing", "electrics"]})
    api.patch(f"/volunteers/{volunteers[1]}", {"status": "suspended"})
    api.delete(f"/teams/{team['id']}/members/{volunteers[1]}")
    return {
        "communities": [community],
        "organisations": organisations,
        "partner": organisations["PD-SBJ"],
        "teams": [
            {
                "id": team["id"],
                "community_id": community,
                "organisation_id": organisations["PD-VOL"],
                "skills": team["skills"],
                "member_ids": [volunteers[0], volunteers[2]],
            }
        ],
        "volunteers": [volunteers[0], volunteers[2]],  # the active ones
    }


LOCAL_TIME = timezone(timedelta(hours=8))  # served days are the district's local days
WAIT_SECONDS = 20.0


def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Retry ``check`` until it returns a truthy value without raising: other services
    learn about the registry's and tickets' changes from events, a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            problem: Any = "not yet"
        except AssertionError as exc:  # a non-2xx answer
            problem = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {problem}")
        time.sleep(0.2)


def tickets_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """Three tickets: one served for 20 hours and confirmed, one resolved, reopened and
    cancelled, one escalated: every tickets event type."""
    team = context["teams"][0]
    served_long, served_short = team["member_ids"][0], team["member_ids"][1]
    now = datetime.now(timezone.utc)

    def open_ticket(code: str, attributes: dict[str, Any], reported_at: datetime) -> str:
        return api.post(
            "/tickets",
            {
                "category_code": code,
                "community_id": team["community_id"],
                "channel": "hotline",
                "resident_name": "王大爷",
                "resident_phone": "13900001234",
                "address": "幸福路1号",
                "description": "scenario",
                "attributes": attributes,
                "reported_at": reported_at.isoformat(),
            },
        )["id"]

    def act(ticket_id: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return api.post(f"/tickets/{ticket_id}/{action}", body or {})

    # Reported 21 hours ago, so 20 hours served fit in the time the ticket was open; the
    # category's cap on one volunteer's credit is raised to allow them (an audited change).
    categories = api.get("/ticket-categories", {"limit": 50})["items"]
    [visits] = [c for c in categories if c["code"] == "elder_home_visit"]
    api.patch(f"/ticket-categories/{visits['id']}", {"max_credit_minutes": 1200})
    visit = open_ticket("elder_home_visit", {"services": ["blood_pressure"]}, now - timedelta(hours=21))
    act(visit, "assign", {"team_id": team["id"], "volunteer_ids": [served_long]})
    act(visit, "start")
    act(visit, "resolve", {"volunteers": [{"volunteer_id": served_long, "minutes": 1200}]})
    act(visit, "confirm", {"rating": 5})

    drain = open_ticket("blocked_drain", {"location": "kitchen"}, now - timedelta(hours=1))
    act(drain, "assign", {"team_id": team["id"], "volunteer_ids": [served_short]})
    act(drain, "start")
    act(drain, "resolve", {"volunteers": [{"volunteer_id": served_short, "minutes": 30}]})
    act(drain, "reopen", {"note": "still blocked"})
    act(drain, "cancel", {"note": "the resident called a plumber"})

    # A client in the district sends local time; events still carry UTC.
    dispute = open_ticket("neighbour_dispute", {"kind": "noise"}, now.astimezone(LOCAL_TIME))
    act(dispute, "escalate", {"note": "needs a social worker"})

    # A partner's own work: no volunteer named, so no hours (ticket.assigned_to_partner, .resolved_by_partner).
    lock = open_ticket("lost_key", {}, now - timedelta(minutes=30))
    act(lock, "assign", {"partner_id": context["partner"]})
    act(lock, "start")
    act(lock, "resolve", {"volunteers": []})
    voice = _voice(api, team["community_id"], served_long, visit)
    return {
        **voice,
        "tickets": {"confirmed": [visit], "cancelled": [drain], "escalated": [dispute], "resolved": [lock]},
        "served_long": served_long,
        "served_short": served_short,
    }


def _voice(api: Api, community: str, social_worker: str, ticket: str) -> dict[str, Any]:
    """Residents' voice: suggestions collected, merged, answered, linked to a ticket and
    one left to pass its deadline (the stack runs with ``CONFIG``); a mediation case
    opened and closed."""

    def collect(content: str) -> str:
        body = {
            "community_id": community,
            "topic": "parking",
            "channel": "door_to_door",
            "content": content,
            "resident": {"name": "王大爷", "phone": "13900001234"},
        }
        return str(api.post("/suggestions", body)["id"])

    first, repeat, late = collect("停车难"), collect("车位不够"), collect("路灯坏了")
    api.post(f"/suggestions/{repeat}/merge", {"into_id": first})
    api.post(f"/suggestions/{first}/answer", {"answer": "将划设停车位"})
    api.post(f"/suggestions/{first}/links", {"kind": "ticket", "target_id": ticket})
    eventually(lambda: api.get(f"/suggestions/{late}")["escalated_at"], "the unanswered suggestion to escalate")
    case = api.post(
        "/mediation-cases",
        {
            "community_id": community,
            "social_worker_id": social_worker,
            "summary": "scenario",
            "parties": [{"name": "刘先生"}, {"name": "楼下住户", "people": 5}],
        },
    )
    api.post(
        f"/mediation-cases/{case['id']}/close",
        {"outcome": "agreement", "satisfaction": [{"party": 1, "rating": 5}, {"party": 2, "rating": 4}]},
    )
    return {"suggestions": [first, repeat, late], "mediation_cases": [case["id"]]}


def _replay_reopening(amqp_uri: str, ticket: dict[str, Any]) -> None:
    """Publish ``ticket.reopened`` for a confirmed ticket on ``tickets.events``, built and
    validated by the tickets service's own schema (see the module docstring)."""
    from kombu import Connection, Exchange, Producer

    from services.tickets.events import EVENTS
    from yilin.events import SERIALIZER

    data = {"ticket_id": ticket["id"], "community_id": ticket["community_id"], "category_code": ticket["category_code"]}
    envelope = EVENTS.envelope("ticket.reopened", data, None)
    exchange = Exchange("tickets.events", type="topic", durable=True)
    with Connection(amqp_uri) as conn:
        Producer(conn.channel()).publish(
            envelope.to_message(),
            exchange=exchange,
            routing_key=envelope.type,
            serializer=SERIALIZER,
            delivery_mode=2,
            message_id=envelope.id,
            declare=[exchange],
        )


def hours_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """Four attendance sheets and the confirmed ticket take one volunteer to exactly 100
    hours (1★); a downward correction takes the star away; one entry and one correction
    request are rejected: every hours event type."""
    team = context["teams"][0]
    star, other = context["served_long"], context["served_short"]
    organisation = team["organisation_id"]

    def totals(volunteer_id: str) -> dict[str, Any]:
        return api.get(f"/hours/volunteers/{volunteer_id}/totals")

    # The confirmed ticket's 20 hours, verified by the resident's confirmation.
    eventually(lambda: totals(star)["verified_minutes"] == 1200, "the confirmed ticket's minutes to be verified")
    today = datetime.now(LOCAL_TIME).date()
    sheets = []
    for days_ago in (2, 3, 4, 5):
        body = {
            "organisation_id": organisation,
            "activity": "社区防汛值守",
            "place": "社区党群服务中心",
            "served_on": (today - timedelta(days=days_ago)).isoformat(),
            "community_id": team["community_id"],
            "content": "全天值守",
            "entries": [
                {"volunteer_id": star, "start_time": "02:00", "end_time": "22:00"},
                {"volunteer_id": other, "start_time": "09:00", "end_time": "10:00"},
            ],
        }
        # The hours service learns the organisation from the registry's events.
        sheets.append(eventually(lambda body=body: api.post("/hours/sheets", body), "the organisation to reach hours"))
    for sheet in sheets[:3]:
        api.post(f"/hours/sheets/{sheet['id']}/verify", {})
    last = {e["volunteer_id"]: e["id"] for e in sheets[3]["entries"]}
    api.post(
        f"/hours/entries/{last[other]}/reject", {"reason": "signed in, did not serve", "reason_code": "not_served"}
    )
    api.post(f"/hours/entries/{last[star]}/verify", {})  # 6000 minutes: 100 hours, 1★
    assert totals(star)["star_level"] == 1

    first = next(e["id"] for e in sheets[0]["entries"] if e["volunteer_id"] == star)
    refused = api.post(f"/hours/entries/{first}/corrections", {"minutes": 1260, "reason": "stayed an hour longer"})
    api.post(
        f"/hours/corrections/{refused['id']}/reject", {"reason": "the sheet says 22:00", "reason_code": "wrong_minutes"}
    )
    correction = api.post(f"/hours/entries/{first}/corrections", {"minutes": 600, "reason": "half the day only"})
    api.post(f"/hours/corrections/{correction['id']}/approve", {})  # 5400 minutes: under 1★ again
    assert totals(star)["star_level"] == 0

    if context.get("amqp_uri"):
        [visit] = context["tickets"]["confirmed"]
        _replay_reopening(context["amqp_uri"], api.get(f"/tickets/{visit}"))
        eventually(lambda: totals(star)["verified_minutes"] == 4200, "the reopened ticket's minutes to be taken back")
    return {"hours": {"sheets": [s["id"] for s in sheets], "correction": correction["id"]}}


def fund_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """A night-market operator, its profit report (so a contribution), one request paid
    after two committee approvals and one rejected: every fund event type."""
    community = context["communities"][0]
    owners = {}
    for code, kind in [("PD-RC", "residents_committee"), ("PD-NM", "social_enterprise")]:
        owners[kind] = api.post(
            "/organisations", {"code": code, "name": code, "kind": kind, "community_id": community}
        )["id"]
    enterprise = api.post(
        "/fund/enterprises",
        {
            "code": "NIGHT-MARKET-1",
            "name": "望丛夜市运营有限公司",
            "community_id": community,
            "owner_organisation_id": owners["residents_committee"],
            "organisation_id": owners["social_enterprise"],
            "contribution_rate_bp": 1000,
        },
    )
    year = datetime.now(LOCAL_TIME).year - 1
    api.post(
        "/fund/profit-reports",
        {
            "enterprise_id": enterprise["id"],
            "fiscal_year": year,
            "net_profit": "1234567.89",
            "audited": True,
            "document_ref": f"AUD-{year}",
            "transfer_id": str(uuid.uuid4()),
        },
    )
    [ticket] = context.get("tickets", {}).get("confirmed", [None])
    paid = api.post(
        "/fund/disbursements",
        {
            "community_id": community,
            "category": "hardware_repair",
            "amount": "3680.00",
            "purpose": "Replace 12 broken drain covers",
            "ticket_id": ticket,
        },
    )
    # Four eyes: two members approve as themselves; a treasurer who did neither pays.
    from tests.security.credentials import bearer

    for member in ("fund-committee-zhang", "fund-committee-li"):
        api.post(f"/fund/disbursements/{paid['id']}/approvals", {}, headers=bearer("fund_committee", member))
    api.post(
        f"/fund/disbursements/{paid['id']}/payment",
        {"transfer_id": str(uuid.uuid4())},
        headers=bearer("operator", "fund-treasurer-wang"),
    )
    refused = api.post(
        "/fund/disbursements",
        {"community_id": community, "category": "other", "amount": "99999.00", "purpose": "A private car park"},
    )
    api.post(f"/fund/disbursements/{refused['id']}/rejection", {"reason": "not for the community"})
    return {
        "fund": {"enterprise": enterprise["id"], "disbursements": {"paid": [paid["id"]], "rejected": [refused["id"]]}}
    }


def activities_step(api: Api, context: dict[str, Any]) -> dict[str, Any]:
    """A project with an activity of one place: a sign-up, a waiting one moved up by a
    cancellation, a check-in and the close; a training session; a commendation: every
    activities event type."""
    from tests.security.credentials import bearer

    team = context["teams"][0]
    organisation, community = team["organisation_id"], team["community_id"]
    first, second = team["member_ids"][0], team["member_ids"][1]
    organiser = bearer("org_admin", "activities-organiser-he", organisation)
    day = (datetime.now(LOCAL_TIME) - timedelta(days=3)).date()

    def at(clock: str) -> str:
        return datetime.fromisoformat(f"{day.isoformat()}T{clock}:00+08:00").isoformat()

    project = api.post(
        "/projects",
        {
            "name": "益路童行",
            "agency_id": organisation,
            "organisation_ids": [organisation],
            "service_domain": "child_care",
            "community_ids": [community],
            "beneficiary_groups": ["children_in_difficulty"],
            "starts_on": day.isoformat(),
            "ends_on": (day + timedelta(days=90)).isoformat(),
        },
        headers=organiser,
    )
    activities = {}
    for kind, start, end in (("service", "09:00", "11:00"), ("training", "14:00", "15:30")):
        activity = api.post(
            "/activities",
            {
                "organisation_id": organisation,
                "project_id": project["id"],
                "kind": kind,
                "title": "困境儿童陪伴" if kind == "service" else "志愿者儿童保护培训",
                "place": "社区儿童之家",
                "community_id": community,
                "starts_at": at(start),
                "ends_at": at(end),
                "capacity": 1,
            },
            headers=organiser,
        )
        path = f"/activities/{activity['id']}"
        for volunteer in (first, second):
            api.post(f"{path}/sign-ups", {"volunteer_id": volunteer}, headers=bearer("volunteer", volunteer))
        api.post(f"{path}/cancellations", {"volunteer_id": first}, headers=bearer("volunteer", first))
        api.post(f"{path}/check-ins", {"volunteer_id": second, "at": at(start)}, headers=organiser)
        api.post(f"{path}/close", {"beneficiary_visits": 12 if kind == "service" else 0}, headers=organiser)
        activities[kind] = activity["id"]
    commendation = api.post(
        "/commendations",
        {
            "volunteer_id": second,
            "organisation_id": organisation,
            "title": "优秀志愿者",
            "level": "community",
            "awarded_on": day.isoformat(),
            "awarding_body": "奎星楼社区",
        },
        headers=organiser,
    )
    return {"activities": {"project": project["id"], **activities, "commendation": commendation["id"]}}


# What the stack running the scenario needs: a suggestion's answer is due two seconds
# after it is collected, and the timer looks every half second (suggestion.escalated).
CONFIG: dict[str, Any] = {"TICKETS_SUGGESTION_ANSWER_DAYS": 2 / 86400, "TICKETS_SUGGESTION_INTERVAL": 0.5}

STEPS: list[Step] = [
    Step("registry", registry_step),
    Step("tickets", tickets_step, needs=("registry",)),
    Step("hours", hours_step, needs=("registry", "tickets")),
    Step("fund", fund_step, needs=("registry",)),
    Step("activities", activities_step, needs=("registry", "hours")),
]


def services() -> tuple[str, ...]:
    """The services the scenario needs, in ``SERVICES`` (start) order, gateway last."""
    from services import SERVICES

    wanted = {"gateway"} | {s.service for s in STEPS} | {n for s in STEPS for n in s.needs}
    return tuple(n for n in SERVICES if n in wanted)


def expected_events(started: tuple[str, ...] | None = None) -> set[tuple[str, str, int]]:
    """``(source, type, version)`` of every event type the started services publish."""
    return {(t.source, t.name, t.version) for t in event_types(started or services())}


def run(api: Api, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every step in order; return the accumulated context. ``context`` may name the
    broker (``amqp_uri``) for the one event no HTTP call can cause."""
    context = dict(context or {})
    for step in STEPS:
        context.update(step.run(api, context))
    return context
