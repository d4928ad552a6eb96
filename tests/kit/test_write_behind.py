"""``yilin.behind.WriteBehind`` writes what the ORM flush would have: new rows with
their values at the flush, only the held rows whose watched columns changed (with their
``on_change`` column), append-only rows after the rows they name, and nothing through
the session's own flush; one record per row however often it is loaded."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from yilin.behind import WriteBehind, insert_missing
from yilin.db import engine_for

STAMP = datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "behind_items"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    minutes: Mapped[int] = mapped_column(Integer)
    touched: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ItemLog(Base):
    __tablename__ = "behind_item_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("behind_items.id"))
    status: Mapped[str] = mapped_column(String(12))


def test_write_behind_inserts_updates_changed_rows_and_logs_in_order(database_url: str) -> None:
    engine = engine_for(database_url.format(service="behind"), "public")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Item(id="a", status="pending", minutes=30), Item(id="b", status="pending", minutes=60)])
        session.commit()
    with Session(engine) as session:
        behind = WriteBehind(session)
        behind.watch(Item, ("status", "minutes"), {"touched": lambda: STAMP})
        items = Item.__table__
        a, b = behind.load(Item, select(items).order_by(items.c.id))
        assert (a.id, a.status, a.minutes, a.touched) == ("a", "pending", 30, None)  # the columns, by name
        assert not session.identity_map  # plain records: the session's flush never sees them
        (again,) = behind.load(Item, select(items).where(items.c.id == "a"))
        assert again is a  # a row loaded twice is still one record
        assert behind.held(Item, "b") is b
        a.status = "verified"
        new = behind.new(Item, id="c", status="pending", minutes=15)
        assert new.touched is None  # a column not given
        new.status = "verified"  # changed before the flush: inserted as it is then
        behind.log(ItemLog, {"item_id": "c", "status": "pending"})
        behind.log(ItemLog, {"item_id": "c", "status": "verified"})
        session.flush()  # the ORM's flush writes none of it
        assert session.scalar(select(Item.status).where(Item.id == "a")) == "pending"
        behind.flush()
        new.minutes = 20  # held once inserted: a later change is written by the next flush
        behind.flush()
        behind.flush()  # nothing changed since: nothing written
        session.commit()
    with Session(engine) as session:
        rows = {r.id: (r.status, r.minutes, r.touched) for r in session.scalars(select(Item))}
        logged = [(r.item_id, r.status) for r in session.scalars(select(ItemLog).order_by(ItemLog.id))]
    touched = {k: v[2].replace(tzinfo=timezone.utc) if v[2] else None for k, v in rows.items()}
    assert {k: v[:2] for k, v in rows.items()} == {
        "a": ("verified", 30),
        "b": ("pending", 60),
        "c": ("verified", 20),
    }
    assert touched == {"a": STAMP, "b": None, "c": STAMP}  # only changed rows are stamped
    assert logged == [("c", "pending"), ("c", "verified")]


def test_insert_missing_inserts_only_the_rows_whose_key_is_absent(database_url: str) -> None:
    engine = engine_for(database_url.format(service="behind"), "public")
    Base.metadata.create_all(engine)
    items = Item.__table__
    with Session(engine) as session:
        session.execute(items.delete())
        session.add(Item(id="a", status="verified", minutes=30))
        session.flush()
        insert_missing(
            session,
            items,
            [
                {"id": "a", "status": "pending", "minutes": 0, "touched": None},
                {"id": "d", "status": "pending", "minutes": 5, "touched": STAMP},
            ],
        )
        session.commit()
    with Session(engine) as session:
        rows = {r.id: (r.status, r.minutes) for r in session.scalars(select(Item))}
    assert rows == {"a": ("verified", 30), "d": ("pending", 5)}  # the existing row untouched
