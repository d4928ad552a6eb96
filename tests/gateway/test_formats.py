"""The API's formats over HTTP, against a real gateway and services: RFC 9457 problem
details on every error, ETag and If-Match on updates (checked inside the owning
service's write transaction), and opaque signed cursors."""

from __future__ import annotations

import base64
from typing import Any

import eventlet
import psycopg2
import requests

from tests.gateway.test_registry_api import id_number, seed_places
from tests.harness import if_match
from tests.polling import wait_until
from tests.problems import problem, problem_fields


def register(http: Any, url: str, community: str, serial: int) -> str:
    r = http.post(
        f"{url}/api/v1/volunteers",
        json={"name": f"志愿者{serial}", "id_number": id_number(serial), "community_id": community},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_every_error_is_problem_details_naming_its_fields(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    api = f"{s.url}/api/v1"
    community = seed_places(http, s.url)["PD-01-01"]

    # validation: 422 naming each field, nested fields as dotted paths
    r = http.post(f"{api}/volunteers", json={"name": "", "id_number": "123", "community_id": community, "x": 1})
    body = problem(r, 422, "invalid-input")
    assert body["instance"] == "/api/v1/volunteers"
    assert {"id_number", "x"} <= set(problem_fields(r))
    r = http.post(
        f"{api}/volunteers",
        json={
            "name": "李雷",
            "id_number": id_number(1),
            "community_id": community,
            "certifications": [{"kind": "first_aid", "number": "A1", "issued_on": "not-a-date"}],
        },
    )
    assert any(e["field"] == "certifications.0.issued_on" for e in problem(r, 422)["errors"]), r.text
    # malformed body, wrong media type, too large
    r = http.post(f"{api}/volunteers", data=b"{not json", headers={"Content-Type": "application/json"})
    assert "body" in problem_fields(r) and problem(r, 400, "bad-request")
    r = http.post(f"{api}/volunteers", data=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    problem(r, 415, "unsupported-media-type")
    assert "Content-Type" in problem_fields(r)
    problem(http.post(f"{api}/volunteers", data=b"x" * (1024 * 1024 + 10)), 413, "payload-too-large")
    # a malformed id in the path, an unknown query parameter
    assert "volunteer_id" in problem_fields(http.get(f"{api}/volunteers/nope"))
    assert "colour" in problem_fields(http.get(f"{api}/places", params={"colour": "red"}))
    # not found: a missing resource, an unknown API path, a path outside the API
    missing = http.get(f"{api}/volunteers/00000000-0000-4000-8000-000000000000")
    assert "volunteer_id" in problem_fields(missing) and problem(missing, 404, "not-found")
    problem(http.get(f"{api}/no-such-thing"), 404, "not-found")
    problem(http.get(f"{api}/hours/certificates//pdf"), 404, "not-found")  # an id left out: no redirect, no 500
    problem(http.get(f"{s.url}/no-such-page"), 404, "not-found")
    # 405 with Allow, inside and outside the API
    r = http.put(f"{api}/places")
    problem(r, 405, "method-not-allowed")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    problem(http.post(f"{s.url}/health"), 405, "method-not-allowed")
    # 401 and 403
    r = requests.get(f"{api}/places", timeout=10)
    problem(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    register(http, s.url, community, 2)
    conflict = http.post(
        f"{api}/volunteers", json={"name": "重复", "id_number": id_number(2), "community_id": community}
    )
    assert "id_number" in problem_fields(conflict) and problem(conflict, 409, "conflict")


def test_failures_behind_the_gateway_are_problem_details(stack: Any, http: Any, pg_url: str) -> None:
    s = stack("gateway")  # no registry behind it
    problem(http.get(f"{s.url}/api/v1/places"), 503, "unavailable")

    s = stack("registry", "gateway", database=pg_url)
    assert http.get(f"{s.url}/api/v1/places").status_code == 200
    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("ALTER TABLE registry.places RENAME TO places_gone")  # the registry now fails
    admin.close()
    r = http.get(f"{s.url}/api/v1/places")
    body = problem(r, 500, "internal-error")
    assert body["detail"] == "an internal error occurred" and "errors" not in body  # no internals
    assert "UndefinedTable" not in r.text and "SELECT" not in r.text


def test_updates_need_the_current_etag(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    community = seed_places(http, s.url)["PD-01-01"]
    url = f"{s.url}/api/v1/volunteers/{register(http, s.url, community, 3)}"

    read = http.get(url)
    tag = read.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert http.get(url).headers["ETag"] == tag  # the same state, the same tag

    r = http.patch(url, json={"name": "改名"})
    problem(r, 428, "precondition-required")
    assert "If-Match" in problem_fields(r)
    for malformed in ("abc", '"unterminated', '"a", b'):
        r = http.patch(url, json={"name": "改名"}, headers={"If-Match": malformed})
        problem(r, 400, "invalid-precondition")
        assert "If-Match" in problem_fields(r)
    problem(http.patch(url, json={"name": "改名"}, headers={"If-Match": f"W/{tag}"}), 412)  # weak never matches
    assert http.get(url).json()["name"] == "志愿者3"  # none of the refused requests changed anything

    r = http.patch(url, json={"name": "改名"}, headers={"If-Match": f'"other", {tag}'})
    assert r.status_code == 200, r.text
    new_tag = r.headers["ETag"]
    assert new_tag != tag and http.get(url).headers["ETag"] == new_tag

    stale = http.patch(url, json={"name": "再改"}, headers={"If-Match": tag})
    problem(stale, 412, "precondition-failed")
    assert "If-Match" in problem_fields(stale)
    assert http.get(url).json()["name"] == "改名"
    assert http.patch(url, json={"party_member": True}, headers={"If-Match": "*"}).status_code == 200


def test_two_updates_with_one_tag_cannot_both_apply(stack: Any, http: Any) -> None:
    """The tag is compared inside the registry's transaction with the row locked: of
    concurrent updates made from the same read, exactly one applies."""
    # every one of the ten reaches the registry (none shed by the per-backend limit)
    s = stack("registry", "gateway")
    community = seed_places(http, s.url)["PD-01-01"]
    url = f"{s.url}/api/v1/volunteers/{register(http, s.url, community, 4)}"
    condition = if_match(http, url)
    auth = {"Authorization": http.headers["Authorization"], **condition}

    def update(n: int) -> requests.Response:
        return requests.patch(url, json={"name": f"并发{n}"}, headers=auth, timeout=60)

    responses = list(eventlet.GreenPool(10).imap(update, range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 9, [(r.status_code, r.text) for r in responses]
    winner = next(r for r in responses if r.status_code == 200)
    assert http.get(url).json()["name"] == winner.json()["name"]


def test_category_and_selection_updates_are_conditional(stack: Any, http: Any) -> None:
    s = stack("registry", "tickets", "hours", "gateway")
    api = f"{s.url}/api/v1"
    r = http.post(
        f"{api}/ticket-categories",
        json={"code": "pet_care", "name": "宠物照看", "skill": "pets", "assign_minutes": 60, "resolve_minutes": 600},
    )
    assert r.status_code == 201, r.text
    category = f"{api}/ticket-categories/{r.json()['id']}"
    problem(http.patch(category, json={"name": "x"}), 428)
    condition = if_match(http, category)
    assert http.patch(category, json={"name": "宠物"}, headers=condition).status_code == 200
    problem(http.patch(category, json={"name": "宠物2"}, headers=condition), 412, "precondition-failed")

    community = seed_places(http, s.url)["PD-01-01"]
    volunteer = register(http, s.url, community, 5)
    selection = f"{api}/hours/volunteers/{volunteer}/selection"
    wait_until(lambda: http.get(selection).status_code == 200, timeout=30, what="hours to know the volunteer")
    read = http.get(selection)
    assert read.json() == {"volunteer_id": volunteer, "selected": False}
    problem(http.put(selection, json={"selected": True}), 428)
    r = http.put(selection, json={"selected": True}, headers={"If-Match": read.headers["ETag"]})
    assert r.status_code == 200 and r.json()["selected"] is True, r.text
    assert r.headers["ETag"] == http.get(selection).headers["ETag"] != read.headers["ETag"]
    problem(http.put(selection, json={"selected": False}, headers={"If-Match": read.headers["ETag"]}), 412)
    assert http.get(selection).json()["selected"] is True


def test_cursors_are_opaque_and_signed(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    api = f"{s.url}/api/v1"
    community = seed_places(http, s.url)["PD-01-01"]
    ids = sorted(register(http, s.url, community, 10 + i) for i in range(3))

    page = http.get(f"{api}/volunteers", params={"limit": 2}).json()
    cursor = page["next_cursor"]
    assert cursor and cursor not in ids and ids[1] not in cursor  # not the raw row id
    rest = http.get(f"{api}/volunteers", params={"limit": 2, "cursor": cursor}).json()
    assert [v["id"] for v in page["items"] + rest["items"]] == ids and rest["next_cursor"] is None

    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    forged_id = base64.urlsafe_b64encode(ids[0].encode() + raw[-16:]).rstrip(b"=").decode()  # another id, old MAC
    flipped = base64.urlsafe_b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).rstrip(b"=").decode()
    for forged in (ids[1], forged_id, flipped, "!!!", "a" * 300):
        r = http.get(f"{api}/volunteers", params={"limit": 2, "cursor": forged})
        problem(r, 400, "invalid-cursor")
        assert "cursor" in problem_fields(r), forged
    # a cursor of one list is not accepted by another
    problem(http.get(f"{api}/places", params={"cursor": cursor}), 400, "invalid-cursor")
