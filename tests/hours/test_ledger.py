"""The ledger's rules as plain domain functions over SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text

from services.hours import corrections, credits, ledger, projection, standings
from services.hours.models import Entry, EntryTransition, VolunteerTotal
from services.hours.schemas import SheetIn
from tests.hours.support import Ledger, statements_run
from yilin.errors import Conflict, Forbidden, InvalidInput, NotFound, load
from yilin.identity import Identity

STARS = (60, 120, 180, 240, 300)  # small thresholds (minutes) so tests cross them quickly
DAY = date(2026, 11, 2)


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


@pytest.fixture
def world(database_url: str) -> dict[str, Any]:
    book = Ledger(database_url)
    org, other_org, community, team = ids(4)
    volunteers = ids(3)
    with book.transaction() as uow:
        projection.organisation_registered(
            uow.session, {"organisation_id": org, "code": "VOL", "kind": "volunteer_organisation"}
        )
        projection.organisation_registered(
            uow.session, {"organisation_id": other_org, "code": "OTH", "kind": "volunteer_organisation"}
        )
        projection.team_created(
            uow.session, {"team_id": team, "code": "SUN", "organisation_id": org, "community_id": community}
        )
        for i, vid in enumerate(volunteers):
            projection.volunteer_registered(
                uow.session,
                {"volunteer_id": vid, "volunteer_number": f"YL{i}", "community_id": community, "status": "active"},
            )
        projection.member_joined(uow.session, {"team_id": team, "volunteer_id": volunteers[0]})
        projection.member_joined(uow.session, {"team_id": team, "volunteer_id": volunteers[0]})  # redelivered: no-op
    return {
        "book": book,
        "org": org,
        "other_org": other_org,
        "community": community,
        "team": team,
        "volunteers": volunteers,
        "verifier": Identity("verifier-1", "verifier", org),
        "operator": Identity("op", "operator"),
    }


def sheet(w: dict[str, Any], lines: list[dict[str, Any]], served_on: date = DAY) -> dict[str, Any]:
    return {
        "organisation_id": w["org"],
        "activity": "社区清洁",
        "served_on": served_on.isoformat(),
        "place": "小区",
        "community_id": w["community"],
        "content": "清理楼道",
        "entries": lines,
    }


def submit(
    w: dict[str, Any], lines: list[dict[str, Any]], served_on: date = DAY, caller: Identity | None = None
) -> dict:
    data = load(SheetIn(), sheet(w, lines, served_on))
    with w["book"].transaction() as uow:
        return ledger.submit_sheet(uow, caller or w["verifier"], data)


def count_entries(w: dict[str, Any]) -> int:
    with w["book"].read() as session:
        return session.scalar(select(func.count()).select_from(Entry))


def total(w: dict[str, Any], vid: str) -> dict[str, Any]:
    with w["book"].rows() as reader:
        return standings.volunteer_total(reader, vid)


def test_bad_sheets_are_refused_naming_the_field_and_write_nothing(world: dict[str, Any]) -> None:
    v0, v1, _ = world["volunteers"]
    schema_cases = [
        ([{"volunteer_id": v0, "minutes": 0}], "minutes"),
        ([{"volunteer_id": v0, "minutes": -30}], "minutes"),
        ([{"volunteer_id": v0, "minutes": 1441}], "minutes"),
        ([{"volunteer_id": v0, "start_time": "10:00", "end_time": "09:00"}], "end_time"),
        ([{"volunteer_id": v0, "start_time": "10:00"}], "end_time"),
        ([{"volunteer_id": v0}], "minutes"),
        ([{"volunteer_id": v0, "start_time": "09:00", "end_time": "10:00", "minutes": 90}], "minutes"),
        ([{"volunteer_id": "nope", "minutes": 10}], "volunteer_id"),
    ]
    for lines, field in schema_cases:
        with pytest.raises(InvalidInput) as caught:
            load(SheetIn(), sheet(world, lines))
        assert field in caught.value.fields["entries"][0], (lines, caught.value.fields)
    with pytest.raises(InvalidInput) as caught:
        load(SheetIn(), {k: v for k, v in sheet(world, [{"volunteer_id": v0, "minutes": 5}]).items() if k != "place"})
    assert "place" in caught.value.fields

    with pytest.raises(InvalidInput) as caught:  # unknown volunteer: nothing of the sheet is written
        submit(world, [{"volunteer_id": v0, "minutes": 60}, {"volunteer_id": str(uuid.uuid4()), "minutes": 60}])
    assert caught.value.fields == {"entries": {1: {"volunteer_id": ["unknown volunteer"]}}}
    with pytest.raises(InvalidInput) as caught:  # overlapping on the same sheet
        submit(
            world,
            [
                {"volunteer_id": v0, "start_time": "09:00", "end_time": "11:00"},
                {"volunteer_id": v0, "start_time": "10:30", "end_time": "12:00"},
            ],
        )
    assert "start_time" in caught.value.fields["entries"][1]
    with pytest.raises(InvalidInput):  # more than a day on one sheet
        submit(world, [{"volunteer_id": v0, "minutes": 1000}, {"volunteer_id": v0, "minutes": 500}])
    with pytest.raises(Forbidden):  # another organisation's verifier
        submit(world, [{"volunteer_id": v0, "minutes": 60}], caller=Identity("x", "verifier", world["other_org"]))
    assert count_entries(world) == 0

    submit(
        world, [{"volunteer_id": v0, "start_time": "09:00", "end_time": "12:00"}, {"volunteer_id": v1, "minutes": 1400}]
    )
    assert count_entries(world) == 2
    with pytest.raises(Conflict) as caught:  # overlaps time already credited
        submit(world, [{"volunteer_id": v0, "start_time": "11:00", "end_time": "13:00"}])
    assert "start_time" in caught.value.fields["entries"][0]
    with pytest.raises(Conflict) as caught:  # 1400 + 41 > 24 h
        submit(world, [{"volunteer_id": v0, "minutes": 30}, {"volunteer_id": v1, "minutes": 41}])
    assert "minutes" in caught.value.fields["entries"][1]
    assert count_entries(world) == 2
    assert total(world, v0)["pending_minutes"] == 180 and total(world, v1)["pending_minutes"] == 1400
    submit(world, [{"volunteer_id": v0, "start_time": "12:00", "end_time": "13:00"}])  # touching, not overlapping
    assert total(world, v0)["pending_minutes"] == 240


def test_verification_rules_self_twice_and_star_levels(world: dict[str, Any]) -> None:
    v0, v1, _ = world["volunteers"]
    book = world["book"]
    created = submit(world, [{"volunteer_id": v0, "minutes": 100}, {"volunteer_id": v1, "minutes": 50}])
    e0, e1 = (e["id"] for e in created["entries"])
    with pytest.raises(Forbidden) as caught, book.transaction() as uow:
        ledger.verify_entry(uow, Identity(v0, "verifier", world["org"]), e0, STARS)
    assert "entry_id" in caught.value.fields
    with pytest.raises(Forbidden), book.transaction() as uow:
        ledger.verify_entry(uow, Identity("v", "verifier", world["other_org"]), e0, STARS)
    with pytest.raises(Forbidden), book.transaction() as uow:
        ledger.verify_sheet(uow, Identity(v1, "verifier", world["org"]), created["id"], STARS)
    with pytest.raises(NotFound), book.transaction() as uow:
        ledger.verify_entry(uow, world["verifier"], str(uuid.uuid4()), STARS)
    assert total(world, v0)["verified_minutes"] == 0

    with book.transaction() as uow:
        assert ledger.verify_entry(uow, world["verifier"], e0, STARS)["status"] == "verified"
    with pytest.raises(Conflict) as caught, book.transaction() as uow:
        ledger.verify_entry(uow, world["verifier"], e0, STARS)
    assert "entry_id" in caught.value.fields
    with book.transaction() as uow:
        ledger.reject_entry(uow, world["verifier"], e1, {"reason": "did not attend", "reason_code": "not_served"})
    with pytest.raises(Conflict), book.transaction() as uow:
        ledger.verify_entry(uow, world["verifier"], e1, STARS)
    assert total(world, v0) | {"period_from": None} == {
        "volunteer_id": v0,
        "verified_minutes": 100,
        "pending_minutes": 0,
        "star_level": 1,
        "selected": False,
        "period_from": None,
        "period_to": None,
    }
    assert total(world, v1)["verified_minutes"] == 0 and total(world, v1)["pending_minutes"] == 0
    assert book.of_type("volunteer.star_level_reached") == [
        {"volunteer_id": v0, "level": 1, "previous_level": 0, "verified_minutes": 100}
    ]
    assert [e["reason_code"] for e in book.of_type("hours.rejected")] == ["not_served"]

    # 5★ needs the selection as well as the hours
    more = submit(world, [{"volunteer_id": v0, "minutes": 250}], served_on=date(2026, 11, 3))
    with book.transaction() as uow:
        ledger.verify_sheet(uow, world["verifier"], more["id"], STARS)
    assert total(world, v0)["star_level"] == 4
    assert [e["level"] for e in book.of_type("volunteer.star_level_reached")] == [1, 2, 3, 4]
    with book.transaction() as uow:
        ledger.set_selection(uow, world["operator"], v0, True, STARS)
    assert total(world, v0)["star_level"] == 5
    with book.read() as session:
        transitions = session.scalar(select(func.count()).select_from(EntryTransition))
    assert transitions == 3 + 3  # three entries recorded, three decisions (verify, reject, verify)
    with pytest.raises(Forbidden), book.transaction() as uow:
        ledger.set_selection(uow, Identity(v0, "org_admin", world["org"]), v0, True, STARS)


def test_corrections_are_new_entries_and_can_take_a_star_away(world: dict[str, Any]) -> None:
    v0, v1, _ = world["volunteers"]
    book = world["book"]
    created = submit(
        world,
        [
            {"volunteer_id": v0, "start_time": "08:00", "end_time": "09:10"},
            {"volunteer_id": v1, "start_time": "10:00", "end_time": "11:00"},
        ],
    )
    with book.transaction() as uow:
        ledger.verify_sheet(uow, world["verifier"], created["id"], STARS)
    original = created["entries"][0]["id"]
    assert total(world, v0)["star_level"] == 1
    with pytest.raises(Forbidden), book.transaction() as uow:  # someone else's entry
        corrections.request_correction(uow, Identity(v1, "volunteer"), original, {"minutes": 50, "reason": "x"})
    with book.transaction() as uow:
        correction = corrections.request_correction(
            uow,
            Identity(v0, "volunteer"),
            original,
            {"start_time": "08:00", "end_time": "08:50", "reason": "left early"},
        )
    assert correction["status"] == "requested" and correction["corrects_id"] == original
    assert correction["minutes"] == 50
    with pytest.raises(Conflict), book.transaction() as uow:  # one open request at a time
        corrections.request_correction(uow, Identity(v0, "volunteer"), original, {"minutes": 40, "reason": "x"})
    with pytest.raises(Forbidden), book.transaction() as uow:  # not by the volunteer
        corrections.approve_correction(uow, Identity(v0, "verifier", world["org"]), correction["id"], STARS)
    with book.transaction() as uow:
        approved = corrections.approve_correction(uow, world["verifier"], correction["id"], STARS)
    assert approved["status"] == "verified"
    with pytest.raises(Conflict), book.transaction() as uow:
        corrections.approve_correction(uow, world["verifier"], correction["id"], STARS)
    with book.read() as session:
        assert session.get(Entry, original).status == "corrected" and session.get(Entry, original).minutes == 70
    assert total(world, v0)["verified_minutes"] == 50 and total(world, v0)["star_level"] == 0
    assert book.of_type("hours.corrected") == [
        {
            "entry_id": correction["id"],
            "volunteer_id": v0,
            "minutes": 50,
            "corrects_entry_id": original,
            "previous_minutes": 70,
            "delta_minutes": -20,
            "verified_minutes": 50,
        }
    ]
    assert book.of_type("volunteer.star_level_lost") == [
        {"volunteer_id": v0, "level": 0, "previous_level": 1, "verified_minutes": 50}
    ]

    # a correction that would overlap other credited time is refused at approval
    other = submit(world, [{"volunteer_id": v1, "start_time": "11:00", "end_time": "12:00"}])
    with book.transaction() as uow:
        bad = corrections.request_correction(
            uow,
            world["verifier"],
            created["entries"][1]["id"],
            {"start_time": "10:00", "end_time": "11:30", "reason": "stayed longer"},
        )
    with pytest.raises(Conflict) as caught, book.transaction() as uow:
        corrections.approve_correction(uow, world["verifier"], bad["id"], STARS)
    assert "start_time" in caught.value.fields
    with book.transaction() as uow:
        corrections.reject_correction(uow, world["verifier"], bad["id"], {"reason": "overlaps", "reason_code": "other"})
    assert total(world, v1)["verified_minutes"] == 60 and total(world, v1)["pending_minutes"] == 60
    assert other["entries"][0]["status"] == "pending"


def test_totals_and_leaderboards_by_group_and_period(world: dict[str, Any]) -> None:
    v0, v1, v2 = world["volunteers"]
    book = world["book"]
    for served_on, lines in [(date(2026, 10, 1), [(v0, 60), (v1, 30)]), (date(2026, 11, 1), [(v0, 45), (v2, 90)])]:
        created = submit(world, [{"volunteer_id": v, "minutes": m} for v, m in lines], served_on=served_on)
        with book.transaction() as uow:
            ledger.verify_sheet(uow, world["verifier"], created["id"], STARS)
    with book.read() as session:
        by_volunteer = standings.leaderboard(session, {"by": "volunteer", "limit": 10})
        november = standings.leaderboard(session, {"by": "volunteer", "limit": 10, "period_from": date(2026, 11, 1)})
        by_team = standings.leaderboard(session, {"by": "team", "limit": 10})
        by_org = standings.leaderboard(session, {"by": "organisation", "limit": 10, "period_to": date(2026, 10, 31)})
        by_community = standings.leaderboard(session, {"by": "community", "limit": 10})
        in_team = standings.leaderboard(session, {"by": "volunteer", "limit": 10, "team_id": world["team"]})
        in_community = standings.leaderboard(
            session, {"by": "volunteer", "limit": 10, "community_id": world["community"]}
        )
        elsewhere = standings.leaderboard(session, {"by": "volunteer", "limit": 10, "community_id": str(uuid.uuid4())})
    with book.rows() as reader:
        period = standings.volunteer_total(reader, v0, date(2026, 11, 1), date(2026, 11, 30))
        since = standings.volunteer_total(reader, v0, date(2026, 11, 1))
        until = standings.volunteer_total(reader, v0, None, date(2026, 10, 31))
    assert [(i["id"], i["verified_minutes"]) for i in by_volunteer["items"]] == [(v0, 105), (v2, 90), (v1, 30)]
    assert [(i["id"], i["verified_minutes"]) for i in november["items"]] == [(v2, 90), (v0, 45)]
    assert [(i["id"], i["verified_minutes"], i["volunteers"]) for i in by_team["items"]] == [(world["team"], 105, 1)]
    assert [(i["id"], i["verified_minutes"], i["volunteers"]) for i in by_org["items"]] == [(world["org"], 90, 2)]
    assert [(i["id"], i["verified_minutes"]) for i in by_community["items"]] == [(world["community"], 225)]
    assert [i["id"] for i in in_team["items"]] == [v0]
    assert [(i["id"], i["verified_minutes"]) for i in in_community["items"]] == [(v0, 105), (v2, 90), (v1, 30)]
    assert elsewhere["items"] == []
    assert period["verified_minutes"] == 45
    assert since["verified_minutes"] == 45 and until["verified_minutes"] == 60  # one end of the period only
    assert (period["period_from"], period["period_to"]) == (date(2026, 11, 1), date(2026, 11, 30))


def test_a_communitys_all_time_leaderboard_reads_the_running_totals(world: dict[str, Any]) -> None:
    v0, v1 = world["volunteers"][:2]
    created = submit(world, [{"volunteer_id": v0, "minutes": 60}, {"volunteer_id": v1, "minutes": 90}])
    with world["book"].transaction() as uow:
        ledger.verify_sheet(uow, world["verifier"], created["id"], STARS)
    with statements_run(world["book"].engine) as statements, world["book"].read() as session:
        board = standings.leaderboard(session, {"by": "volunteer", "limit": 10, "community_id": world["community"]})
    assert [(i["id"], i["verified_minutes"]) for i in board["items"]] == [(v1, 90), (v0, 60)]
    # its cost is the community's volunteers, whatever the length of the ledger's history
    assert statements and not any("entries" in s for s in statements), statements


def test_one_volunteers_total_never_scans_the_ledger(world: dict[str, Any]) -> None:
    v0 = world["volunteers"][0]
    created = submit(world, [{"volunteer_id": v0, "minutes": 60}])
    with world["book"].transaction() as uow:
        ledger.verify_sheet(uow, world["verifier"], created["id"], STARS)
    engine = world["book"].engine
    with statements_run(engine) as statements:
        assert total(world, v0)["verified_minutes"] == 60
    assert statements and not any("entries" in s for s in statements), statements
    if engine.dialect.name == "postgresql":  # a period total goes through a (volunteer_id, served_on) index
        with engine.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(
                r[0]
                for r in conn.execute(
                    text(
                        "EXPLAIN SELECT sum(minutes) FROM entries WHERE volunteer_id = :v AND status = 'verified' "
                        "AND served_on BETWEEN '2026-01-01' AND '2026-12-31'"
                    ),
                    {"v": v0},
                )
            )
        # ix_entries_volunteer_served_on, or the verified entries' covering one (0005)
        assert "volunteer_served_on on entries" in plan, plan
    with world["book"].read() as session:
        assert session.get(VolunteerTotal, v0).verified_minutes == 60


def test_a_confirmation_handled_before_its_resolution_still_verifies(world: dict[str, Any]) -> None:
    from datetime import datetime, timedelta, timezone

    v0 = world["volunteers"][0]
    book = world["book"]
    resolved_at = datetime(2026, 11, 1, 17, 30, tzinfo=timezone.utc)  # 01:30 on the 2nd in Chengdu
    ticket_id = str(uuid.uuid4())
    with book.transaction() as uow:  # the confirmation's queue was faster
        assert (
            credits.ticket_confirmed(
                uow, {"ticket_id": ticket_id, "rating": 4, "automatic": False}, resolved_at + timedelta(hours=1), STARS
            )
            == []
        )
    with book.transaction() as uow:
        credits.ticket_resolved(
            uow,
            {
                "ticket_id": ticket_id,
                "community_id": world["community"],
                "category_code": "lock_out",
                "team_id": world["team"],
                "resolved_at": resolved_at.isoformat().replace("+00:00", "Z"),
                "volunteers": [{"volunteer_id": v0, "minutes": 45}],
            },
            resolved_at,
            STARS,
        )
    with book.read() as session:
        [entry] = session.scalars(select(Entry).where(Entry.source_id == ticket_id)).all()
        assert (entry.status, entry.served_on, entry.rating, entry.organisation_id) == (
            "verified",
            date(2026, 11, 2),
            4,
            world["org"],
        )
    assert total(world, v0)["verified_minutes"] == 45
