"""No leaks, no crashes: SQL errors carry no parameters, CSV cells cannot run as
formulas, a deeply nested body is a 400, the rate limit sees the client behind a
trusted proxy."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.gateway.ratelimit import client_address, trusted_networks
from yilin.db import engine_for
from yilin.exports import SafeWriter


def test_sql_errors_show_no_parameters(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path}/leak.db", "leak")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)"))
        conn.execute(text("INSERT INTO people VALUES (1, 'x')"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO people VALUES (:id, :name)"), {"id": 1, "name": "张秀英 犀安路18号"})
    assert "张秀英" not in str(caught.value) and "hidden due to hide_parameters" in str(caught.value)
    engine.dispose()


def test_every_formula_start_is_neutralised() -> None:
    out = io.StringIO()
    writer = SafeWriter(out)
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", 42]
    writer.writerow(cells)
    back = next(csv.reader(io.StringIO(out.getvalue())))
    assert back == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "42"]


def test_the_rate_limit_keys_on_the_client_behind_trusted_proxies() -> None:
    trusted = trusted_networks("10.0.0.0/8, 192.168.1.7")
    assert client_address("10.1.2.3", "203.0.113.9", trusted) == "203.0.113.9"
    assert (
        client_address("10.1.2.3", "1.1.1.1, 203.0.113.9, 192.168.1.7", trusted) == "203.0.113.9"
    )  # spoofed left part ignored
    assert client_address("203.0.113.5", "1.1.1.1", trusted) == "203.0.113.5"  # an untrusted peer's header is ignored
    assert client_address("10.1.2.3", None, ()) == "10.1.2.3"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/{{service}}.db"


def test_a_deeply_nested_body_is_a_400(stack: Any, http: Any) -> None:
    s = stack("registry", "gateway")
    url = f"{s.url}/api/v1/places"
    for depth in (40, 100_000):
        body = "[" * depth + "]" * depth
        r = http.post(url, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "body" in r.text, (depth, r.status_code)
    r = http.post(url, json={"code": "PD", "name": "郫都区", "level": "district"})
    assert r.status_code == 201, r.text
