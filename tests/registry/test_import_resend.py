"""A batch of the volunteer import delivered twice applies once: with the write key
``yilin import`` sends, a resend (the broker redelivering a request whose answer was
lost, or the same file imported again) gets the first answer, even while the first is
still in flight; without one, a resend counts its own rows as duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy

from services.registry.importing import file_key, import_file
from tests.harness import a_community
from tests.registry.test_import import make_rows
from yilin.identity import identity_context, service_account
from yilin.writes import WRITE_KEY


def _community(s: Any) -> str:
    with s.rpc("registry") as registry:
        return a_community(registry)


def _stored(s: Any, community: str) -> int:
    with s.rpc("registry") as registry:
        page = registry.list_volunteers({"community_id": community, "limit": 200})
    assert page["next_cursor"] is None
    return len(page["items"])


def test_a_batch_sent_twice_with_its_write_key_applies_once_and_answers_alike(stack: Any) -> None:
    s = stack("registry")
    community = _community(s)
    batch = make_rows(community, 150)
    batch[3]["id_number"] = "123"  # a rejected row is part of the answer replayed
    context = identity_context(s.config, service_account("cli-import"), "cli")
    with ClusterRpcProxy(s.config, context_data={**context, WRITE_KEY: "import-volunteers:test:0"}) as cluster:
        # the second delivery arrives while the first is still being applied
        replies = [cluster.registry.import_volunteers.call_async(batch) for _ in range(2)]
        first, second = (reply.result() for reply in replies)
        third = cluster.registry.import_volunteers(batch)  # and once more, long after
    assert first == second == third
    assert first["created"] == 149 and first["duplicates"] == 0 and [r["row"] for r in first["rejected"]] == [3]
    assert _stored(s, community) == 149

    # without a key the call runs again: the answer differs (the rows are now duplicates)
    with ClusterRpcProxy(s.config, context_data=context) as cluster:
        again = cluster.registry.import_volunteers(batch)
    assert (again["created"], again["duplicates"]) == (0, 149)


def test_the_same_file_imported_again_replays_each_batchs_first_answer(
    stack: Any, amqp_uri: str, tmp_path: Path
) -> None:
    s = stack("registry")
    community = _community(s)
    path = tmp_path / "people.jsonl"
    rows = make_rows(community, 120)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    config = {"AMQP_URI": amqp_uri, "serializer": "json", "ENVIRONMENT": "development"}
    summary = import_file(config, path, batch=50, progress=False)
    assert summary == {"created": 120, "duplicates": 0, "rejected": []}
    assert import_file(config, path, batch=50, progress=False) == summary  # each batch answered before
    assert _stored(s, community) == 120

    # a changed file is other writes: its batches run, the rows stored already are duplicates
    assert file_key(path, 50) != file_key(path, 40)
    path.write_text(path.read_text() + json.dumps(make_rows(community, 121)[120], ensure_ascii=False) + "\n")
    assert import_file(config, path, batch=50, progress=False) == {"created": 1, "duplicates": 120, "rejected": []}
    assert _stored(s, community) == 121
