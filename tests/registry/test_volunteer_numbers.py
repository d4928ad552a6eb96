"""Volunteer numbers: enough random bits that a district's import does not draw one
twice, and a number drawn twice anyway is drawn again, never a failed batch."""

from __future__ import annotations

from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.registry import volunteers
from services.registry.events import EVENTS
from services.registry.models import Base, Volunteer
from services.registry.schemas import VolunteerIn
from tests.harness import a_community
from tests.registry.test_import import make_rows
from yilin.config import database_url
from yilin.db import UnitOfWork, engine_for
from yilin.pii import PersonalData

PII = PersonalData("test-pii-key")


def test_a_volunteer_number_carries_at_least_64_random_bits_and_fits_its_column() -> None:
    numbers = set(volunteers.draw_numbers(20_000))
    assert len(numbers) == 20_000
    for number in list(numbers)[:100]:
        assert number.startswith("YL") and len(number) <= 20  # the column is String(20)
        assert set(number[2:]) <= set(volunteers.NUMBER_ALPHABET)
        assert not set(number[2:]) & set("ILOU")  # nothing to misread on a certificate
    # 40 bits (the former "YL" + 10 hex digits) gave a 1.4% chance of a clash per district
    assert (len(volunteers.draw_numbers(1)[0]) - 2) * 5 >= 64
    # every character position takes more than one value: the bits are random, not padding
    assert all(len({n[i] for n in numbers}) > 16 for i in range(2, len(next(iter(numbers)))))


def _draws(*first: str) -> Any:
    """``draw``: the given numbers first, then fresh ones."""
    queue: Iterator[str] = iter(first)
    return lambda count: [next(queue, None) or volunteers.draw_numbers(1)[0] for _ in range(count)]


def test_a_number_already_taken_or_drawn_twice_is_drawn_again(stack: Any) -> None:
    s = stack("registry")
    with s.rpc("registry") as registry:
        community = a_community(registry)
        rows = make_rows(community, 152)
        first = registry.register_volunteer(rows[0])
    taken = first["number"]

    engine = engine_for(database_url(s.config, "registry", environ={}), "registry")
    sessions = sessionmaker(engine, expire_on_commit=False, info={"metadata": Base.metadata})

    def commit(work: Any) -> Any:
        uow = UnitOfWork(sessions(), EVENTS, "test")
        try:
            answer = work(uow)
            uow.write_outbox()
            uow.session.commit()
            return answer, uow.events
        finally:
            uow.session.close()

    # 150 rows (a COPY on PostgreSQL): the first draw is taken, the next two are the same
    twice = volunteers.draw_numbers(1)[0]
    result, events = commit(
        lambda uow: volunteers.import_volunteers(uow, PII, rows[1:151], _draws(taken, twice, twice))
    )
    assert result["created"] == 150 and result["rejected"] == []
    # one volunteer, registered alone, whose first two draws are taken too
    data = VolunteerIn().load(rows[151])
    view, _ = commit(lambda uow: volunteers.register_volunteer(uow, PII, data, _draws(taken, taken)))
    assert view["number"] != taken

    with sessions() as session:
        numbers = list(session.scalars(select(Volunteer.number)))
    assert len(numbers) == len(set(numbers)) == 152
    assert numbers.count(taken) == 1 and numbers.count(twice) <= 1
    # the events name the numbers stored, not the ones given up
    assert {e.data["volunteer_number"] for e in events} <= set(numbers) - {taken}
