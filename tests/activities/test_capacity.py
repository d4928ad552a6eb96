"""Sign-ups stay within capacity under concurrency: 200 volunteers sign up at once over
HTTP, through a gateway process, for 50 places, served by two activities processes on
one PostgreSQL database. Exactly 50 are confirmed and 150 wait; a cancellation moves
exactly one up."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from tests.conftest import TEST_JWT_SECRET
from tests.harness import ServiceProcess, migrate_service
from tests.security.credentials import bearer

PLACES, VOLUNTEERS = 50, 200


def test_200_concurrent_sign_ups_for_50_places(amqp_uri: str, pg_url: str, tap: Any) -> None:
    env = {"YILIN_JWT_SECRET": TEST_JWT_SECRET, "YILIN_RATE_LIMIT_PER_MINUTE": "100000", "YILIN_LOG_LEVEL": "WARNING"}
    config = {"AMQP_URI": amqp_uri, "DATABASE_URL": pg_url}
    for name in ("activities", "gateway"):
        migrate_service(name, config)
    processes = [ServiceProcess("activities", amqp_uri, pg_url, **env) for _ in range(2)]
    # A gateway sized for the rush: its per-backend limit (half its workers) lets every
    # sign-up through instead of shedding some with 503 + Retry-After (services.gateway.backends).
    sized = {**env, "YILIN_GATEWAY_MAX_WORKERS": str(2 * VOLUNTEERS)}
    processes.append(ServiceProcess("gateway", amqp_uri, pg_url, **sized))
    for process in processes:
        process.wait_ready(60)
    api = f"http://127.0.0.1:{processes[-1].http_port}/api/v1"
    events = tap("activities")

    organisation = str(uuid.uuid4())
    organiser = bearer("org_admin", subject="organiser-li", organisation_id=organisation)
    starts = datetime.now(timezone.utc).replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=2)
    r = requests.post(
        f"{api}/activities",
        headers=organiser,
        json={
            "organisation_id": organisation,
            "title": "社区义诊",
            "place": "奎星楼社区党群服务中心",
            "community_id": str(uuid.uuid4()),
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=3)).isoformat(),
            "capacity": PLACES,
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    activity_id = r.json()["id"]

    volunteers = [str(uuid.uuid4()) for _ in range(VOLUNTEERS)]

    def sign_up(volunteer_id: str) -> tuple[int, str]:
        response = requests.post(
            f"{api}/activities/{activity_id}/sign-ups",
            headers=bearer("volunteer", subject=volunteer_id),
            json={"volunteer_id": volunteer_id},
            timeout=60,
        )
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=VOLUNTEERS) as pool:
        answers = list(pool.map(sign_up, volunteers))
    assert all(status == 200 for status, _ in answers), [a for a in answers if a[0] >= 300][:3]
    statuses = [json.loads(text)["status"] for _, text in answers]
    assert (statuses.count("confirmed"), statuses.count("waiting")) == (PLACES, VOLUNTEERS - PLACES)

    activity = requests.get(f"{api}/activities/{activity_id}", headers=organiser, timeout=30).json()
    assert (activity["confirmed"], activity["waiting"]) == (PLACES, VOLUNTEERS - PLACES)

    def listed(status: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"status": status, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = requests.get(
                f"{api}/activities/{activity_id}/sign-ups", headers=organiser, params=params, timeout=30
            ).json()
            found += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    confirmed, waiting = listed("confirmed"), listed("waiting")
    assert (len(confirmed), len(waiting)) == (PLACES, VOLUNTEERS - PLACES)
    first_waiting = min(waiting, key=lambda s: s["position"])

    leaving = confirmed[0]["volunteer_id"]
    r = requests.post(
        f"{api}/activities/{activity_id}/cancellations",
        headers=bearer("volunteer", subject=leaving),
        json={"volunteer_id": leaving},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    after = requests.get(f"{api}/activities/{activity_id}", headers=organiser, timeout=30).json()
    assert (after["confirmed"], after["waiting"]) == (PLACES, VOLUNTEERS - PLACES - 1)
    promoted = {s["volunteer_id"] for s in listed("confirmed")} - {s["volunteer_id"] for s in confirmed}
    assert promoted == {first_waiting["volunteer_id"]}
    [cancelled] = events.wait_for("activity.sign_up_cancelled", timeout=20)
    assert cancelled["data"]["promoted_volunteer_id"] == first_waiting["volunteer_id"]
    # at least once on the wire (a loaded outbox sweep may publish a row its committer is
    # still publishing), exactly once per sign-up by event id, which is what consumers dedupe on
    signed_up = events.wait_for("activity.signed_up", count=VOLUNTEERS, timeout=30)
    by_volunteer: dict[str, set[str]] = {e["data"]["volunteer_id"]: set() for e in signed_up}
    for e in signed_up:
        by_volunteer[e["data"]["volunteer_id"]].add(e["id"])
    assert sorted(by_volunteer) == sorted(volunteers)
    assert all(len(ids) == 1 for ids in by_volunteer.values()), [v for v, ids in by_volunteer.items() if len(ids) > 1]
    for process in processes:
        assert process.terminate() == 0
