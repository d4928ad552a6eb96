"""What the in-process profilers (``bench.profile_handlers``, ``bench.profile_import``)
share: counting an engine's SQL statements and their round trips, and measuring a block
of work in wall time, CPU time and, on request, a pyinstrument call tree."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import Engine, event


@dataclass
class SqlCount:
    """Statements sent through an engine and the time spent waiting for them."""

    statements: int = 0
    seconds: float = 0.0
    by_statement: dict[str, float] = field(default_factory=dict)  # seconds by the statement's first words


def count_sql(engine: Engine) -> SqlCount:
    """Count every statement ``engine`` sends from now on."""
    count = SqlCount()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        context._bench_started = time.perf_counter()
        count.statements += 1

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        took = time.perf_counter() - context._bench_started
        count.seconds += took
        key = " ".join(statement.split()[:3])[:40]
        count.by_statement[key] = count.by_statement.get(key, 0.0) + took

    return count


@dataclass
class Measured:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def measured(call_tree: bool) -> Iterator[Measured]:
    """Wall and CPU time of the block; with ``call_tree``, print pyinstrument's tree after it."""
    profiler = None
    if call_tree:
        import pyinstrument

        profiler = pyinstrument.Profiler()
        profiler.start()
    result = Measured()
    cpu, began = time.process_time(), time.perf_counter()
    try:
        yield result
    finally:
        result.wall, result.cpu = time.perf_counter() - began, time.process_time() - cpu
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text())
