"""The tickets part of the demo district: one ticket in every state, the resolved and
confirmed ones with the minutes their volunteers served, each in its grid; a blocked
drain the 十八匠 partner fixed with a volunteer; the dispute escalated to a named
certified social worker."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.tickets import demo_voice

TICKETS = "/tickets"  # DemoApi adds the /api/v1 prefix


def _active_member(api: Any, team: dict[str, Any]) -> str | None:
    members = api.get(f"/teams/{team['id']}/members")["items"]
    active = [m["volunteer_id"] for m in members if m["status"] == "active"]
    return active[0] if active else None


def load(api: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Create the demo tickets over HTTP; return ``{"tickets": {state: [ids]}}``."""
    team, volunteer = None, None
    for candidate in context.get("teams", []):
        volunteer = _active_member(api, candidate) if candidate.get("member_ids") else None
        if volunteer:
            team = candidate
            break
    if team is None:
        raise RuntimeError("the demo needs a team with an active member")
    community = team["community_id"]
    grid = (context.get("grid_of") or {}).get(community)
    partner = (context.get("partners") or {}).get("十八匠")
    now = datetime.now(timezone.utc)
    # Tickets that get resolved were reported three hours ago, so the minutes served fit.
    earlier = (now - timedelta(hours=3)).isoformat()
    residents = iter(
        [
            ("李桂兰", "13800000001", "幸福路1号2栋"),
            ("陈建国", "13800000002", "幸福路3号1栋"),
            ("刘芳", "13800000003", "团结路8号"),
            ("周明", "13800000004", "团结路10号"),
            ("赵婆婆", "13800000005", "和平巷5号"),
            ("孙强", "13800000006", "和平巷9号"),
            ("吴敏", "13800000007", "新民街2号"),
            ("郑华", "13800000008", "新民街6号"),
            ("冯丽", "13800000009", "府河阳光小区3栋"),
        ]
    )

    def open_ticket(
        code: str,
        channel: str,
        description: str,
        attributes: dict[str, Any],
        reported_at: str | None = None,
        resident_id: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> str:
        name, phone, address = next(residents)
        return api.post(
            TICKETS,
            {
                "category_code": code,
                "community_id": community,
                "channel": channel,
                "resident_id": resident_id,
                "resident_name": name,
                "resident_phone": phone,
                "address": address,
                "description": description,
                "attributes": attributes,
                "reported_at": reported_at,
                "grid_id": grid,
                "beneficiary_groups": list(groups),
            },
        )["id"]

    def act(ticket_id: str, action: str, body: dict[str, Any] | None = None) -> None:
        api.post(f"{TICKETS}/{ticket_id}/{action}", body or {})

    assign = {"team_id": team["id"], "volunteer_ids": [volunteer]}
    tickets: dict[str, list[str]] = {}

    tickets["opened"] = [
        open_ticket(
            "resident_suggestion", "door_to_door", "益邻·心声：希望在小区增设电动车充电桩", {"topic": "facilities"}
        )
    ]
    assigned = open_ticket(
        "utility_bills",
        "hotline",
        "独居老人请志愿者代缴本月水电费",
        {"utility": ["water", "electricity"], "amount_fen": 18650},
        groups=("elderly_living_alone",),
    )
    act(assigned, "assign", assign)
    tickets["assigned"] = [assigned]

    in_progress = open_ticket("blocked_drain", "resident_online", "卫生间下水道堵塞", {"location": "bathroom"})
    act(in_progress, "assign", assign)
    act(in_progress, "start", {"note": "志愿者已上门"})
    tickets["in_progress"] = [in_progress]

    visits = []
    for n in range(2):
        visit = open_ticket(
            "elder_home_visit",
            "hotline",
            "独居老人上门探访并义诊",
            {"services": ["blood_pressure", "medication_review"]},
            earlier,
            f"demo-resident-visit-{n}",
            ("elderly_living_alone",),
        )
        act(visit, "assign", assign)
        act(visit, "start")
        act(visit, "resolve", {"volunteers": [{"volunteer_id": volunteer, "minutes": 90}], "note": "血压正常"})
        visits.append(visit)
    tickets["resolved"] = [visits[0]]
    # The served resident confirms, signed in as themself: their word verifies the hours.
    api.as_identity("resident", "demo-resident-visit-1").post(
        f"{TICKETS}/{visits[1]}/confirm", {"rating": 5, "comment": "志愿者很耐心"}
    )
    tickets["confirmed"] = [visits[1]]

    dispute = open_ticket("neighbour_dispute", "hotline", "楼上深夜噪音，邻里协商未果", {"kind": "noise"})
    act(dispute, "escalate", {"note": "需专业社工调解"})
    tickets["escalated"] = [dispute]

    if partner:  # the partner's own paid work earns no hours; the volunteer named with it does
        repaired = open_ticket(
            "blocked_drain", "hotline", "厨房下水道堵塞，十八匠师傅上门疏通", {"location": "kitchen"}, earlier
        )
        act(repaired, "assign", {"partner_id": partner, "volunteer_ids": [volunteer]})
        act(repaired, "start")
        act(repaired, "resolve", {"volunteers": [{"volunteer_id": volunteer, "minutes": 30}], "note": "志愿者陪同"})
        tickets["resolved"].append(repaired)

    cancelled = open_ticket("lost_key", "hotline", "钥匙丢失无法进门", {})
    act(cancelled, "cancel", {"note": "居民已自行找到钥匙"})
    tickets["cancelled"] = [cancelled]
    worker = (api.get(f"{TICKETS}/{dispute}").get("social_worker") or {}).get("volunteer_id") or volunteer
    return {"tickets": tickets, **demo_voice.load(api, community, volunteer, worker)}
