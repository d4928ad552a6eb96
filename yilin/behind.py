"""Writing a transaction's mapped objects with Core statements instead of the ORM flush.

A batch that loads a few hundred rows, changes some and adds a few hundred more spends
much of its CPU in the ORM's unit of work (per-object bookkeeping at every attribute
set and at the flush). :class:`WriteBehind` keeps such objects out of the session: rows
loaded with the ORM are detached and their columns remembered; new objects are never
added. :meth:`WriteBehind.flush` then writes, in one executemany statement per table
and kind: new objects' INSERTs, UPDATEs of the held rows whose columns changed, and
append-only rows (logs). Call it before any query that must see the changes, and before
the commit (``UnitOfWork.before_commit``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.orm import Session


class _Held:
    """The held rows of one mapped class and the columns watched for changes."""

    def __init__(self, table: Table, columns: tuple[str, ...], on_change: dict[str, Callable[[], Any]]) -> None:
        self.table = table
        (self.key,) = [c.key for c in table.primary_key.columns]
        self.columns = columns
        self.on_change = on_change
        self.rows: dict[Any, tuple[Any, tuple[Any, ...]]] = {}  # primary key → (object, remembered values)
        self.new: list[Any] = []

    def remember(self, obj: Any) -> None:
        self.rows[getattr(obj, self.key)] = (obj, tuple(getattr(obj, c) for c in self.columns))


class WriteBehind:
    """One transaction's objects written through Core; see the module docstring."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._held: dict[type, _Held] = {}
        self._logs: dict[Table, list[dict[str, Any]]] = {}

    def watch(self, model: type, columns: Iterable[str], on_change: dict[str, Callable[[], Any]] | None = None) -> None:
        """Declare ``model``'s mutable ``columns``; ``on_change`` columns get a fresh value
        (e.g. an ``updated_at``) in every changed row."""
        self._held[model] = _Held(inspect(model).local_table, tuple(columns), dict(on_change or {}))

    def hold(self, objects: Iterable[Any]) -> list[Any]:
        """Detach loaded objects from the session and remember their watched columns; an
        object whose row is already held is replaced by the held one (one object per row,
        as the session's identity map would give). A session with no changes of its own
        is emptied: other objects it held are loaded again when next asked for."""
        kept, fresh = [], []
        for obj in objects:
            held = self._held[type(obj)]
            known = held.rows.get(getattr(obj, held.key))
            if known is not None:
                kept.append(known[0])
                continue
            held.remember(obj)
            kept.append(obj)
            fresh.append(obj)
        session = self.session
        if session.new or session.dirty or session.deleted:
            for obj in fresh:  # one at a time (expunge cascades): the session has its own work
                if obj in session:
                    session.expunge(obj)
        else:
            session.expunge_all()  # nothing to lose, and one call instead of a cascade per object
        return kept

    def held(self, model: type, key: Any) -> Any | None:
        """The held object of ``model`` with primary key ``key``, if any."""
        known = self._held[model].rows.get(key)
        return known[0] if known else None

    def add(self, obj: Any) -> None:
        """A new object, inserted at the next flush with every column's value then."""
        self._held[type(obj)].new.append(obj)

    def log(self, model: type, row: dict[str, Any]) -> None:
        """An append-only row of ``model``'s table (same keys for every row of a table),
        inserted at the next flush after the objects, in the order logged."""
        self._logs.setdefault(inspect(model).local_table, []).append(row)

    def flush(self) -> None:
        """Write everything added, changed or logged since the last flush."""
        execute = self.session.execute
        for held in self._held.values():
            if held.new:
                names = [c.key for c in held.table.columns]
                new, held.new = held.new, []
                execute(insert(held.table), [{n: getattr(o, n) for n in names} for o in new])
                for obj in new:
                    held.remember(obj)
        for held in self._held.values():
            changed = []
            for key, (obj, before) in held.rows.items():
                now = tuple(getattr(obj, c) for c in held.columns)
                if now != before:
                    for column, value in held.on_change.items():
                        setattr(obj, column, value())
                    changed.append({"b_key": key, **{c: getattr(obj, c) for c in (*held.columns, *held.on_change)}})
                    held.rows[key] = (obj, now)
            if changed:
                execute(update(held.table).where(held.table.c[held.key] == bindparam("b_key")), changed)
        logs, self._logs = self._logs, {}
        for table, rows in logs.items():
            execute(insert(table), rows)
