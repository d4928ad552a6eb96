"""Sign-ups under a rush: ``signup_volunteers`` volunteers, each a distinct signed-in
caller with its own token and keep-alive connection, sign up at once through the gateway
(``POST /api/v1/activities/{id}/sign-ups``) for ``signup_activities`` activities, each
volunteer starting at its own activity and going round them in turn, so the activities'
row locks are shared as in a real rush (places fill and the waiting lists grow). Beside
them: the bare nameko HTTP entrypoint under the same number of keep-alive callers.

The activities service runs as deployed: ``signup_replicas`` processes (2 in the full run:
deploy/compose and the k8s base run two replicas, KEDA's minimum), all consuming the one
RPC queue. Sign-ups to different activities share no lock, so replicas add capacity; the
CPU per sign-up is the replicas' sum. The gateway stays one process.

The gateway runs with the deployed per-caller rate limit (every volunteer is its own
caller, so none comes near it) and a worker pool sized for the rush, as in the capacity
test (tests/activities/test_capacity.py): its per-backend limit, half its workers, lets
every sign-up through instead of shedding some with 503."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import requests

from bench import load, seed
from bench.environment import Environment, free_port
from bench.gateway import answers, start_stack
from services.district import LOCAL_TIME
from services.roles import PERSON_ROLES
from yilin.tokens import issue_token

TOKEN_CONFIG = {"JWT_SECRET": seed.BENCH_SECRET}
PROCESSES = 4  # load generator processes the callers are spread over


def token(role: str, subject: str, organisation_id: str | None = None) -> str:
    """A bearer token the bench's gateway accepts."""
    return issue_token(
        TOKEN_CONFIG, role, subject=subject, organisation_id=organisation_id, ttl=3600, roles=PERSON_ROLES
    )


ORGANISATION = str(uuid.uuid4())
ORGANISER = token("org_admin", "bench-organiser", ORGANISATION)


def measure(env: Environment, sizes: Any) -> dict[str, Any]:
    """The bare entrypoint, then the sign-up rush; both under the same callers."""
    volunteers = sizes.signup_volunteers
    # The bare entrypoint starts beside the stack (and is measured while the stack idles),
    # so the stage waits for one start-up rather than two.
    bare = env.start("bare", module="bench.baseline_services", args=("bare",))
    gateway_env = {
        "YILIN_JWT_SECRET": seed.BENCH_SECRET,
        "YILIN_GATEWAY_MAX_WORKERS": str(2 * volunteers),
    }
    processes: dict[str, Any] = {}
    try:
        processes = start_stack(env, ("activities", "gateway"), gateway_env=gateway_env)
        # the further replicas: the same service, its own internal read address
        for n in range(2, sizes.signup_replicas + 1):
            processes[f"activities-{n}"] = env.start(
                "activities", extra_env={"YILIN_INTERNAL_HTTP_ADDRESS": f"127.0.0.1:{free_port()}"}
            )
        for process in processes.values():
            process.wait_ready()
    except BaseException:
        _stop(env, [bare, *processes.values()])
        raise
    try:
        bare_url = f"http://127.0.0.1:{bare.http_port}"
        bare.wait_ready(probe=lambda: answers(bare_url + "/bare"))
        threads = max(1, volunteers // PROCESSES)
        result: dict[str, Any] = {
            "bare": load.run(bare_url, ["/bare"], sizes.http_seconds, processes=PROCESSES, threads=threads)
        }
        result["bare"]["peak_rss_mib"] = bare.peak_rss_mib()
    except BaseException:
        _stop(env, [bare, *processes.values()])
        raise
    bare.process.terminate()  # its shutdown overlaps the rush's set-up
    try:
        api = f"http://127.0.0.1:{processes['gateway'].http_port}/api/v1"
        # Few places (5 each in the full run): they fill in the first seconds, and the
        # rest of the rush joins waiting lists, as for a popular activity.
        activities = publish(api, sizes.signup_activities, capacity=max(1, volunteers // 40))
        people = [str(uuid.uuid4()) for _ in range(volunteers)]
        callers = [
            load.Caller(
                token("volunteer", person),
                [
                    (f"/api/v1/activities/{activities[(i + k) % len(activities)]}/sign-ups", {"volunteer_id": person})
                    for k in range(len(activities))
                ],
            )
            for i, person in enumerate(people)
        ]
        before = {name: p.cpu_seconds() for name, p in processes.items()}
        rush = load.run_callers(f"http://127.0.0.1:{processes['gateway'].http_port}", callers, sizes.http_seconds)
        # CPU per sign-up answered (the whole rush: the CPU window spans it); "activities"
        # is every replica's together, each replica's own beside it when there are several
        used = {name: p.cpu_seconds() - before[name] for name, p in processes.items()}
        per_sign_up = {name: round(1000 * cpu / max(1, rush["answered_ok"]), 2) for name, cpu in used.items()}
        replicas = [name for name in used if name.startswith("activities")]
        rush["cpu_ms_per_sign_up"] = {
            "activities": round(1000 * sum(used[n] for n in replicas) / max(1, rush["answered_ok"]), 2),
            "gateway": per_sign_up["gateway"],
            **({f"{name} (replica)": per_sign_up[name] for name in replicas} if len(replicas) > 1 else {}),
        }
        rush["activities_replicas"] = len(replicas)
        rush["stored"] = stored(api, activities)
        result["sign_ups"] = rush
        result["activities"] = len(activities)
        result["memory"] = {name: p.peak_rss_mib() for name, p in processes.items()}
    finally:
        _stop(env, [bare, *processes.values()])
    return result


def _stop(env: Environment, processes: list[Any]) -> None:
    """Stop the processes side by side (each takes a few seconds to shut down)."""
    for process in processes:
        if process.process.poll() is None:
            process.process.terminate()
    for process in processes:
        env.stop(process)


def window(now: datetime) -> tuple[datetime, datetime]:
    """09:00 to 12:00 local two days after ``now``: whatever the hour the bench runs,
    the activity ends on the local day it starts, as the activities service requires."""
    starts = datetime.combine(now.astimezone(LOCAL_TIME).date() + timedelta(days=2), time(9), LOCAL_TIME)
    return starts, starts + timedelta(hours=3)


def publish(api: str, count: int, capacity: int) -> list[str]:
    """``count`` activities two days ahead, open to volunteers, ``capacity`` places each."""
    starts, ends = window(datetime.now(LOCAL_TIME))
    community = str(uuid.uuid4())
    created = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {ORGANISER}"
        for n in range(count):
            r = http.post(
                f"{api}/activities",
                json={
                    "organisation_id": ORGANISATION,
                    "title": f"社区义诊{n}",
                    "place": "党群服务中心",
                    "community_id": community,
                    "starts_at": starts.isoformat(),
                    "ends_at": ends.isoformat(),
                    "capacity": capacity,
                },
                timeout=30,
            )
            if r.status_code != 201:
                raise RuntimeError(f"publishing an activity: {r.status_code} {r.text}")
            created.append(r.json()["id"])
    return created


def stored(api: str, activities: list[str]) -> dict[str, int]:
    """Places taken and waiting across the activities, as the service counts them."""
    confirmed = waiting = 0
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {ORGANISER}"
        for activity in activities:
            r = http.get(f"{api}/activities/{activity}", timeout=30)
            r.raise_for_status()
            confirmed += r.json()["confirmed"]
            waiting += r.json()["waiting"]
    return {"confirmed": confirmed, "waiting": waiting}
