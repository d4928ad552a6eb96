"""The hours service's step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.district import LOCAL_TIME
from tests.contract.scenario.client import Api, eventually


def _replay_reopening(amqp_uri: str, ticket: dict[str, Any]) -> None:
    """Publish ``ticket.reopened`` for a confirmed ticket on ``tickets.events``, built and
    validated by the tickets service's own schema (see the package docstring)."""
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
