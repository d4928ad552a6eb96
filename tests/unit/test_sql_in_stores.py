"""Every statement a service runs lives in its store: outside ``store`` (a module or a
package), ``models`` and ``migrations``, no module of the five services selects,
executes, adds, gets, deletes, flushes or locks through a session. Operations load and
write through named store methods instead."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "tickets", "fund", "activities", "hours")
SQL = re.compile(r"select\(|\.execute\(|\.scalars?\(|session\.(add|get|delete|flush)|with_for_update")
MAY_RUN_SQL = {"store", "models", "migrations"}  # a module or a package of that name


def modules(service: str, sql_allowed: bool) -> list[Path]:
    """The service's modules inside (``sql_allowed``) or outside its store, models and migrations."""
    base = ROOT / "services" / service
    return sorted(
        path
        for path in base.rglob("*.py")
        if (path.relative_to(base).parts[0].removesuffix(".py") in MAY_RUN_SQL) == sql_allowed
    )


def statements(path: Path) -> list[str]:
    """``path:line: text`` of every line running SQL by :data:`SQL`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for n, line in enumerate(lines, 1) if SQL.search(line)]


def test_the_scan_sees_every_service_and_recognises_their_stores_sql() -> None:
    for service in SERVICES:
        outside, inside = modules(service, False), modules(service, True)
        assert ROOT / "services" / service / "service.py" in outside
        assert [s for path in inside for s in statements(path)], f"{service}: no SQL found in its store"


def test_no_module_outside_the_stores_runs_sql() -> None:
    found = [s for service in SERVICES for path in modules(service, False) for s in statements(path)]
    assert found == [], "move these statements behind named store methods:\n" + "\n".join(found)
