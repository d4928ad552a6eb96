"""The fast tier: the services' rules over plain values. Nothing here starts a process
or opens a connection, so these tests pass with RabbitMQ and PostgreSQL unreachable
(``make test-unit`` runs them with ``--confcutdir`` so the suite's conftest, which
provisions the broker and the databases, is not loaded)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("unit", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("unit")
