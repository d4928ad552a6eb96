"""Free text never reaches a log line: whatever a resident dictated (a name, an address, a
description) is recognised by the field that holds it and replaced, in messages,
tracebacks and structured fields alike, in both log formats; ID and mobile numbers are
masked wherever they appear."""

from __future__ import annotations

import io
import json
import logging

import pytest

from yilin.logs import REDACTED, ContextFilter, StructuredFormatter

SECRETS = (
    "张三",
    "成都市郫都区望丛路 1 号",
    "王芳家厨房漏水",
    "李四",
    "13812345678",
    "510124198501010019",
    "Wang Fang",
)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_free_text_fields_are_redacted(fmt: str) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(StructuredFormatter(fmt))
    handler.addFilter(ContextFilter())
    log = logging.getLogger(f"tests.redaction.{fmt}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    payload = {
        "name": "张三",
        "address": "成都市郫都区望丛路 1 号",
        "description": "王芳家厨房漏水",
        "community_id": "community-7",
    }
    log.warning("could not take %s", payload)  # a dict's repr
    log.warning("body was %s", json.dumps(payload, ensure_ascii=True))  # JSON, non-ASCII escaped
    log.warning("body was %s", json.dumps({"text": "Wang Fang called"}))
    try:
        raise ValueError("register(name='李四', phone=13812345678, id_number=510124198501010019, status=1)")
    except ValueError:
        log.exception("register failed")
    log.info("integrity conflict: %s", "duplicate key\nDETAIL:  Key (name, code)=(张三, T-1) already exists.")
    log.info(
        "access",
        extra={"fields": {"path": "/api/v1/volunteers?name=张三&limit=5", "name": "李四", "status": 200}},
    )
    lines = out.getvalue()
    for secret in SECRETS:
        assert secret not in lines, (secret, lines)
    assert json.dumps("王芳家厨房漏水")[1:-1] not in lines  # nor its \\u escapes
    assert REDACTED in lines
    # what is not free text stays, so the line still helps
    for kept in ("community-7", "could not take", "register failed", "status=1", "ValueError"):
        assert kept in lines, (kept, lines)
    if fmt == "json":  # the text format leaves structured fields out
        assert "limit=5" in lines
        records = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
        access = next(r for r in records if r["message"] == "access")
        assert (access["name"], access["status"]) == (REDACTED, 200)
