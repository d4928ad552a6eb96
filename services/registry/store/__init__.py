"""All of the registry's SQL, behind named methods of one :class:`RegistryStore` per
session, split by meaning: places and coverage, organisations with their teams and
units, volunteers, and the district's structure (cadres, counts).

The registry takes one row lock: updating a volunteer locks their row
(:meth:`VolunteerStore.lock_volunteer`). Everything else is a plain read or an insert;
the imports look rows up 1,000 keys a statement and insert each table's rows with one
statement (a ``COPY`` on PostgreSQL for 100 rows or more), whatever the batch size."""

from __future__ import annotations

from services.registry.store.organisations import OrganisationStore
from services.registry.store.places import PlaceStore
from services.registry.store.structure import StructureStore
from services.registry.store.volunteers import VolunteerReads, VolunteerStore

__all__ = ["RegistryStore", "VolunteerReads"]


class RegistryStore(PlaceStore, OrganisationStore, VolunteerStore, StructureStore):
    """The registry's reads and writes within one session (a transaction's or a read's)."""
