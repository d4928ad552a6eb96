"""Bulk import of volunteers from CSV or JSON lines, in batches over RPC, with a
progress bar. Sized for the district's 173,000 volunteers; safe to re-run (rows already
registered count as duplicates).

Each batch carries a write key (:mod:`yilin.writes`) made of the file's digest and the
batch's first row: a batch delivered twice (the broker redelivers a request whose worker
died before answering, or the same file is imported again) applies once and gets its
first answer, instead of counting its own rows as duplicates the second time or, sent
again while the first is still in flight, failing on the ID numbers' uniqueness."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Iterator

from nameko.standalone.rpc import ClusterRpcProxy
from tqdm import tqdm

from services.registry.id_numbers import canonical_id_number
from yilin.identity import identity_context, service_account
from yilin.writes import WRITE_KEY

CSV_LIST_SEPARATOR = ";"
# Batches sent before the first reply is awaited: two for each of the two registry
# replicas deployed, so each replica validates and encrypts one while the database and
# the broker finish the other (a batch spends more than half its time waiting on them).
IN_FLIGHT = 4


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Volunteer records from ``.csv`` (skills separated by ';') or JSON lines."""
    path = Path(path)
    with path.open(encoding="utf-8-sig") as handle:
        if path.suffix.lower() == ".csv":
            for row in csv.DictReader(handle):
                record: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
                if "skills" in record:
                    record["skills"] = [s.strip() for s in record["skills"].split(CSV_LIST_SEPARATOR) if s.strip()]
                if "party_member" in record:
                    record["party_member"] = record["party_member"].strip().lower() in ("1", "true", "yes", "y")
                yield record
        else:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def count_rows(path: str | Path) -> int:
    with Path(path).open(encoding="utf-8-sig") as handle:
        lines = sum(1 for line in handle if line.strip())
    return lines - 1 if Path(path).suffix.lower() == ".csv" else lines


def send_batches(
    registry: Any,
    batches: Iterable[list[Any]],
    in_flight: int = IN_FLIGHT,
    keyed: tuple[dict[str, Any], str] | None = None,
) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Send each batch to ``registry.import_volunteers`` (an RPC proxy), up to
    ``in_flight`` at a time, and yield ``(batch, result)`` in the order sent.

    A batch naming an ID number that a batch still in flight also names is sent only
    once that one has finished, so the results are those of one batch at a time: the
    first row of a person is stored and a later one counts as a duplicate. If a call
    fails, the error is raised and no further batch is sent; a batch already in flight
    may still have been stored (re-running the import is safe).

    ``keyed``: the proxy's context data (the dict given to ``ClusterRpcProxy``) and the
    file's key; each batch is then sent with the write key ``<file key>:<first row>``."""
    pending: deque[tuple[list[Any], set[str], Any]] = deque()
    first = 0
    for batch in batches:
        people = _id_numbers(batch)
        while pending and (len(pending) >= in_flight or any(people & named for _, named, _ in pending)):
            sent, _, reply = pending.popleft()
            yield sent, reply.result()
        if keyed is not None:  # the headers are taken from the context when the call is sent
            context, file_key = keyed
            context[WRITE_KEY] = f"{file_key}:{first}"
        pending.append((batch, people, registry.import_volunteers.call_async(batch)))
        first += len(batch)
    while pending:
        sent, _, reply = pending.popleft()
        yield sent, reply.result()


def file_key(path: str | Path, batch: int) -> str:
    """The part of an import's write keys that names the file: its contents' digest and
    the batch size (the same rows in other batches are other calls)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"import-volunteers:{digest.hexdigest()}:{batch}"


def _id_numbers(batch: list[Any]) -> set[str]:
    return {
        canonical_id_number(row["id_number"])
        for row in batch
        if isinstance(row, dict) and isinstance(row.get("id_number"), str)
    }


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_file(
    config: dict[str, Any], path: str | Path, batch: int = 1000, progress: bool = True, in_flight: int = IN_FLIGHT
) -> dict[str, Any]:
    """Send the file to the registry in batches; return created/duplicate/rejected counts
    (rejected rows are numbered from 0 in file order)."""
    summary: dict[str, Any] = {"created": 0, "duplicates": 0, "rejected": []}
    offset = 0
    # The CLI calls as its own named account, never as nobody (the registry refuses that).
    context = identity_context(config, service_account("cli-import"), "cli")
    with (
        ClusterRpcProxy(config, context_data=context) as cluster,
        tqdm(total=count_rows(path), unit="row", disable=not progress) as bar,
    ):
        keyed = (context, file_key(path, batch))
        for chunk, result in send_batches(cluster.registry, _batches(read_rows(path), batch), in_flight, keyed):
            summary["created"] += result["created"]
            summary["duplicates"] += result["duplicates"]
            summary["rejected"] += [{**r, "row": r["row"] + offset} for r in result["rejected"]]
            offset += len(chunk)
            bar.update(len(chunk))
    return summary
