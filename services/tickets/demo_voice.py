"""Residents' voice in the demo district: suggestions collected door to door and online
(a repeat merged, one answered, one turned into a fund request by the fund's demo) and
a group dispute mediated to an agreement with the parties' satisfaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any


def load(api: Any, community: str, volunteer: str, social_worker: str) -> dict[str, Any]:
    """Create the voice demo over HTTP; return the ids the fund's demo links to."""
    collector = api.as_identity("volunteer", volunteer)

    def collect(topic: str, content: str, name: str, phone: str) -> str:
        body = {
            "community_id": community,
            "topic": topic,
            "channel": "door_to_door",
            "content": content,
            "resident": {"name": name, "phone": phone},
        }
        return str(collector.post("/suggestions", body)["id"])

    parking = collect("parking", "小区停车难，希望在空地划设停车位", "王建华", "13900000011")
    repeat = collect("parking", "晚上车位不够，能否增设停车位", "李秀珍", "13900000012")
    api.post(f"/suggestions/{repeat}/merge", {"into_id": parking})
    lights = collect("safety", "巷口路灯坏了，夜间不安全", "张德明", "13900000013")
    api.post(f"/suggestions/{lights}/answer", {"answer": "已报修，三日内更换路灯"})
    # A resident's own, online (door to door when the loader signs as one operator only).
    api.as_identity("resident", "demo-resident-online").post(
        "/suggestions",
        {
            "community_id": community,
            "topic": "elderly_care",
            "channel": "online" if api.identity_headers else "door_to_door",
            "content": "希望社区食堂增加老年助餐",
            "resident": {"name": "赵婆婆"},
        },
    )
    api.post(f"/suggestions/{parking}/answer", {"answer": "社区将用社区基金划设停车位"})

    mediator = api.as_identity("social_worker", social_worker)
    case = mediator.post(
        "/mediation-cases",
        {
            "community_id": community,
            "social_worker_id": social_worker,
            "summary": "楼上住户装修噪音与楼下多户居民的纠纷",
            "parties": [{"name": "刘先生", "people": 1}, {"name": "楼下住户代表", "people": 6}],
        },
    )
    held = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    mediator.post(f"/mediation-cases/{case['id']}/sessions", {"held_at": held, "minutes": 60, "note": "约定施工时段"})
    mediator.post(
        f"/mediation-cases/{case['id']}/close",
        {"outcome": "agreement", "satisfaction": [{"party": 1, "rating": 5}, {"party": 2, "rating": 5}]},
    )
    return {"suggestions": {"parking": parking, "lights": lights}, "mediation_cases": [case["id"]]}
