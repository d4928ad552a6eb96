"""Listing ledger entries within the caller's scope, over SQLite and PostgreSQL, with the
projection keeping each volunteer's organisation from the registry's events."""

from __future__ import annotations

from typing import Any

import pytest

from services.hours import consumed, ledger, permissions, projection
from services.hours.store import ProjectionStore
from tests.hours.test_ledger import ids, submit, world  # noqa: F401  (world: the ledger's fixture)
from yilin.errors import Forbidden
from yilin.identity import Identity


def test_entries_are_listed_within_the_callers_scope(world: dict[str, Any]) -> None:  # noqa: F811  (the fixture imported above)
    """The projection keeps each volunteer's organisation (None from an event announced
    before it carried one); an organisation's staff list their volunteers' entries and
    those their organisation recorded, a volunteer their own."""
    w = world
    v0, v1, v2 = w["volunteers"]
    late = ids(1)[0]
    with w["book"].transaction() as uow:
        projection.volunteer_registered(
            uow.session,
            consumed.read(
                consumed.VolunteerRegistered,
                "volunteer.registered",
                {"volunteer_id": v2, "volunteer_number": "YL2", "community_id": w["community"]}
                | {"status": "active", "organisation_id": w["other_org"]},
            ),
        )
        legacy = {"volunteer_id": late, "volunteer_number": "YL9", "community_id": w["community"]}
        projection.volunteer_registered(
            uow.session,
            consumed.read(consumed.VolunteerRegistered, "volunteer.registered", legacy | {"status": "active"}),
        )
    with w["book"].read() as session:
        store = ProjectionStore(session)
        assert (store.volunteer_organisation(v2), store.volunteer_organisation(late)) == (w["other_org"], None)
    submit(w, [{"volunteer_id": v, "minutes": 30} for v in (v0, v1, v2)])  # all recorded by org

    def listed(caller: Identity, volunteer_id: str | None = None) -> set[str]:
        query = {"limit": 50} | ({"volunteer_id": volunteer_id} if volunteer_id else {})
        with w["book"].read() as session:
            page = ledger.list_entries(session, query, permissions.entry_scope(caller, volunteer_id))
        return {e["volunteer_id"] for e in page["items"]}

    everyone = {v0, v1, v2}
    assert listed(w["operator"]) == listed(Identity("aud", "auditor")) == everyone
    assert listed(w["verifier"]) == everyone  # org recorded them all
    assert listed(Identity("admin-o", "org_admin", w["other_org"])) == {v2}  # their volunteer, not org's record
    assert listed(Identity(v1, "volunteer")) == listed(Identity(v1, "team_lead"), v1) == {v1}
    assert listed(Identity("x", "social_worker", ids(1)[0])) == set()  # a third organisation
    for caller, asked in ((Identity(v1, "volunteer"), v0), (Identity("admin-x", "org_admin"), None)):
        with pytest.raises(Forbidden), w["book"].read() as session:
            ledger.list_entries(session, {"limit": 50}, permissions.entry_scope(caller, asked))
