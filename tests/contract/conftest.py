"""The contract does not depend on the database backend: run the end-to-end scenario on
PostgreSQL, the production backend, only."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(pg_url: str) -> str:
    return pg_url
