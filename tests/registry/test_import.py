"""Bulk import of volunteers through the operator CLI (CSV and JSON lines) and the API."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.registry.id_numbers import id_check_digit
from tests.harness import ROOT, a_community
from yilin.errors import InvalidInput


def id_number(serial: int) -> str:
    first17 = f"5101241985{serial:07d}"
    return first17 + id_check_digit(first17)


def make_rows(community: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"志愿者{i}",
            "id_number": id_number(i),
            "phone": f"139{i:08d}",
            "community_id": community,
            "skills": ["elder_care", "first_aid"] if i % 2 else ["plumbing"],
            "party_member": i % 7 == 0,
        }
        for i in range(count)
    ]


def run_import(amqp_uri: str, path: Path) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, "-m", "yilinctl.cli", "import", "volunteers", str(path), "--batch", "400"],
        cwd=ROOT,
        env=dict(os.environ, YILIN_AMQP_URI=amqp_uri, YILIN_ENV="development"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_cli_imports_csv_and_json_lines_with_progress_and_is_rerunnable(
    stack: Any, amqp_uri: str, http: Any, tmp_path: Path
) -> None:
    s = stack("registry", "gateway")
    with s.rpc("registry") as registry:
        district = registry.create_place({"code": "D", "name": "D", "level": "district"})
        street = registry.create_place({"code": "S", "name": "S", "level": "street", "parent_id": district["id"]})
        community = registry.create_place({"code": "C", "name": "C", "level": "community", "parent_id": street["id"]})
    rows = make_rows(community["id"], 1500)
    rows[10]["id_number"] = "123"  # malformed
    rows[20]["community_id"] = street["id"]  # not a community
    rows.append(dict(rows[5]))  # the same person twice in one file
    csv_path = tmp_path / "volunteers.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {**row, "skills": ";".join(row["skills"]), "party_member": "yes" if row["party_member"] else "no"}
            )

    code, summary, stderr = run_import(amqp_uri, csv_path)
    assert code == 1  # rejected rows make the exit status say so
    assert summary["created"] == 1498 and summary["duplicates"] == 1
    assert sorted(r["row"] for r in summary["rejected"]) == [10, 20]
    assert "id_number" in summary["rejected"][0]["fields"] or "id_number" in summary["rejected"][1]["fields"]
    assert "1501/1501" in stderr  # the progress bar ran to the end

    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in make_rows(community["id"], 1600)) + "\n")
    code, summary, _ = run_import(amqp_uri, jsonl)
    # rows 10 and 20 were rejected the first time, so they are new now
    assert code == 0 and summary == {"created": 102, "duplicates": 1498, "rejected": []}

    page = http.get(f"{s.url}/api/v1/volunteers", params={"skill": "plumbing", "limit": 200}).json()
    assert len(page["items"]) == 200 and page["next_cursor"]
    r = http.post(f"{s.url}/api/v1/volunteers/import", json={"rows": make_rows(community["id"], 1605)[1600:]})
    assert r.status_code == 200 and r.json()["created"] == 5


def test_import_batch_reports_each_bad_row_and_stores_the_rest(stack: Any, tap: Any) -> None:
    s = stack("registry")
    events = tap("registry")
    with s.rpc("registry") as registry:
        district = registry.create_place({"code": "D", "name": "D", "level": "district"})
        street = registry.create_place({"code": "S", "name": "S", "level": "street", "parent_id": district["id"]})
        community = registry.create_place({"code": "C", "name": "C", "level": "community", "parent_id": street["id"]})
        registered = registry.register_volunteer(
            {"name": "先来", "id_number": id_number(900), "community_id": community["id"]}
        )
        rows: list[Any] = [
            {
                "name": "甲",
                "id_number": id_number(1),
                "phone": "13912345678",
                "community_id": community["id"],
                "skills": ["first_aid", "elder_care", "first_aid"],
                "party_member": True,
                "certifications": [{"kind": "social_worker", "number": "SW-1", "issued_on": "2020-01-02"}],
            },
            "not an object",
            {"name": "乙", "id_number": id_number(2), "phone": "123", "community_id": community["id"]},
            {
                "name": "丙",
                "id_number": id_number(3),
                "community_id": community["id"],
                "certifications": [{"kind": "Bad Kind"}],
            },
            {"name": "丁", "id_number": id_number(4), "community_id": street["id"]},
            {"name": "甲again", "id_number": id_number(1), "community_id": community["id"]},  # same person, same batch
            {"name": "先来again", "id_number": id_number(900), "community_id": community["id"]},  # already registered
            {"name": "戊", "id_number": id_number(5), "community_id": community["id"]},
            {"name": "己", "id_number": id_number(6), "community_id": community["id"], "nickname": "x"},
        ]
        result = registry.import_volunteers(rows)
        assert result["created"] == 2 and result["duplicates"] == 2
        assert result["rejected"] == [
            {"row": 1, "fields": {"_schema": ["expected an object"]}},
            {"row": 2, "fields": {"phone": ["11-digit mobile number"]}},
            {"row": 3, "fields": {"certifications": {"0": {"kind": ["String does not match expected pattern."]}}}},
            {"row": 4, "fields": {"community_id": ["no such community"]}},
            {"row": 8, "fields": {"nickname": ["Unknown field."]}},
        ]
        # the same batch again: everything stored is a duplicate now, the bad rows still bad
        again = registry.import_volunteers(rows)
        assert again["created"] == 0 and again["duplicates"] == 4 and again["rejected"] == result["rejected"]
        with pytest.raises(InvalidInput) as bad:
            registry.import_volunteers({"rows": rows})
        assert bad.value.fields == {"rows": ["expected a list"]}

        page = registry.list_volunteers({"community_id": community["id"], "limit": 10})
        by_name = {v["name"]: v for v in page["items"]}
        assert sorted(by_name) == ["先来", "戊", "甲"]
        first = by_name["甲"]
        assert first["skills"] == ["elder_care", "first_aid"] and first["party_member"] is True
        assert first["certifications"] == [{"kind": "social_worker", "number": "SW-1", "issued_on": "2020-01-02"}]
        assert first["phone"] == "139****5678" and first["id_number"] == id_number(1)[:4] + "*" * 10 + id_number(1)[-4:]
        assert first["status"] == "active" and first["number"].startswith("YL") and first["created_at"]
        assert (
            by_name["戊"]["phone"] is None and by_name["戊"]["skills"] == [] and by_name["戊"]["certifications"] == []
        )

        published = events.wait_for("volunteer.registered", 3)
        imported = {
            e["data"]["volunteer_id"]: e["data"] for e in published if e["data"]["volunteer_id"] != registered["id"]
        }
        assert imported[first["id"]] == {
            "volunteer_id": first["id"],
            "volunteer_number": first["number"],
            "community_id": community["id"],
            "organisation_id": None,  # imported for no organisation
            "skills": ["elder_care", "first_aid"],
            "certifications": ["social_worker"],
            "status": "active",
        }
        assert set(imported) == {first["id"], by_name["戊"]["id"]}
        trail = registry.audit_log({"action": "volunteer.registered", "entity_id": first["id"]})["items"]
        assert len(trail) == 1 and by_name["戊"]["id"] in trail[0]["entity_ids"] and len(trail[0]["event_ids"]) == 2


def test_batches_in_flight_keep_the_first_row_of_a_person(stack: Any, amqp_uri: str, tmp_path: Path) -> None:
    from services.registry.importing import import_file

    s = stack("registry")
    with s.rpc("registry") as registry:
        community = a_community(registry)
    rows = make_rows(community, 12)
    # the same people again in the very next batch (both would be in flight at once)
    rows[4] = {**rows[1], "name": "later row"}
    rows[9] = {**rows[7], "name": "later row", "id_number": rows[7]["id_number"].lower()}
    path = tmp_path / "people.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    summary = import_file(
        {
            "AMQP_URI": amqp_uri,
            "serializer": "json",
            "ENVIRONMENT": "development",
        },
        path,
        batch=3,
        progress=False,
        in_flight=3,
    )
    assert summary == {"created": 10, "duplicates": 2, "rejected": []}
    with s.rpc("registry") as registry:
        names = [v["name"] for v in registry.list_volunteers({"community_id": community, "limit": 50})["items"]]
    assert len(names) == 10 and "later row" not in names
