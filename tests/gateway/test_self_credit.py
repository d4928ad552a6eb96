"""Hours need someone else's word, over HTTP: back-dating is bounded and audited, a
category caps the credit per volunteer, an automatic confirmation records hours but
verifies nothing, and a verifier named on the ticket cannot verify its hours; another
verifier of the organisation can."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tests.harness import wait_until
from tests.security.credentials import bearer
from tests.tickets.district import build, ticket_body


def test_nobody_mints_verified_hours_alone(stack: Any, http: Any, tap: Any) -> None:
    s = stack("registry", "tickets", "hours", "gateway", TICKETS_AUTO_CONFIRM_DAYS=0, TICKETS_AUTO_CONFIRM_INTERVAL=0.2)
    events = tap("tickets")
    with s.rpc("registry") as registry:
        district = build(registry)
    api = f"{s.url}/api/v1"
    organisation = district.team["organisation_id"]
    lead, other = district.members

    month_ago = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    r = http.post(f"{api}/tickets", json=ticket_body(district, reported_at=month_ago))
    assert r.status_code == 422 and "reported_at" in r.text  # back-dating is bounded
    assert http.get(f"{api}/tickets").json()["items"] == []

    day_ago = (datetime.now(timezone.utc) - timedelta(days=1, hours=12)).isoformat()
    r = http.post(f"{api}/tickets", json=ticket_body(district, reported_at=day_ago))
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    audit = http.get(f"{api}/audit", params={"service": "tickets"}).json()["items"]
    assert any(
        c.get("type", c.get("action")) == "ticket.backdated" or "ticket.backdated" in str(c)
        for row in audit
        for c in row.get("changes", [row])
    ), audit  # and audited

    assert (
        http.post(
            f"{api}/tickets/{tid}/assign", json={"team_id": district.team["id"], "volunteer_ids": [lead, other]}
        ).status_code
        == 200
    )
    assert http.post(f"{api}/tickets/{tid}/start", json={}).status_code == 200
    r = http.post(f"{api}/tickets/{tid}/resolve", json={"volunteers": [{"volunteer_id": lead, "minutes": 1440}]})
    assert r.status_code == 422 and "minutes" in r.text  # the category's cap per volunteer
    r = http.post(
        f"{api}/tickets/{tid}/resolve",
        json={"volunteers": [{"volunteer_id": lead, "minutes": 120}, {"volunteer_id": other, "minutes": 90}]},
    )
    assert r.status_code == 200, r.text
    [confirmed] = events.wait_for("ticket.confirmed", timeout=20)
    assert confirmed["data"]["automatic"] is True

    def entries() -> list[dict[str, Any]]:
        found = http.get(f"{api}/hours/entries").json()["items"]
        return found if len(found) == 2 else []

    recorded = wait_until(entries, 20, what="hours recorded from the ticket")
    assert {e["status"] for e in recorded} == {"pending"}  # recorded, not verified: nobody's word yet
    by_volunteer = {e["volunteer_id"]: e["id"] for e in recorded}
    # the lead, also a verifier of the organisation, on their teammate's hours and on their own
    lead_verifier = bearer("verifier", subject=lead, organisation_id=organisation)
    for entry in (by_volunteer[other], by_volunteer[lead]):
        r = http.post(f"{api}/hours/entries/{entry}/verify", headers=lead_verifier)
        assert r.status_code == 403 and "entry_id" in r.text, r.text
    someone_else = bearer("verifier", subject="verifier-zhou", organisation_id=organisation)
    r = http.post(f"{api}/hours/entries/{by_volunteer[lead]}/verify", headers=someone_else)
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text
    totals = http.get(f"{api}/hours/volunteers/{other}/totals").json()
    assert (totals["verified_minutes"], totals["pending_minutes"]) == (0, 90)
