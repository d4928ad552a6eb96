"""No hand-written Python module over 400 lines, tests included: a module that long holds
more than one idea, and is split by meaning (a package per idea), not by line count.
Alembic migrations are generated and never edited, so they are left out, as is anything
in a hidden directory (the virtualenv, git's own files)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
NOT_HAND_WRITTEN = {"migrations", "__pycache__", "node_modules"}


def hand_written_modules(root: Path) -> Iterator[Path]:
    """Every ``.py`` under ``root`` outside hidden directories, migrations and build output."""
    for directory, subdirectories, files in os.walk(root):
        # Pruned in place, so the walk never enters the virtualenv's thousands of modules.
        subdirectories[:] = [
            d for d in subdirectories if not (d.startswith(".") or d in NOT_HAND_WRITTEN or d.endswith(".egg-info"))
        ]
        yield from (Path(directory, f) for f in files if f.endswith(".py"))


def line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def test_the_walk_sees_the_tree_and_skips_migrations() -> None:
    seen = {p.relative_to(ROOT).as_posix() for p in hand_written_modules(ROOT)}
    assert {"yilin/db.py", "services/hours/rules.py", "tests/unit/test_module_size.py"} <= seen
    assert not [p for p in seen if "/migrations/" in p or p.startswith(".venv/")]


def test_no_hand_written_module_is_over_400_lines() -> None:
    too_long = {
        p.relative_to(ROOT).as_posix(): n for p in hand_written_modules(ROOT) if (n := line_count(p)) > MAX_LINES
    }
    assert too_long == {}, f"split these by meaning (over {MAX_LINES} lines): {too_long}"
