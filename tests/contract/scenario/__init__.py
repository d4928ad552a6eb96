"""A scripted scenario through the public HTTP API that makes each service it starts
publish every one of its event types.

Each service contributes a :class:`Step`, one module per service in this package; to
cover a new service, add its module and append its step to ``STEPS``. :func:`services`
and :func:`expected_events` follow from the steps, so the "every event type" assertions
widen by themselves.

The steps act only over HTTP, through whatever session the caller gives :class:`Api`
(the ``http`` fixture, which carries the caller's credentials), with one exception: the
tickets service never reopens a confirmed ticket, so no HTTP call can make the hours
service take back verified ticket time (``hours.unverified``); the hours step publishes
that ``ticket.reopened`` itself, exactly as the tickets schema defines it, when the run's
context names the broker (``amqp_uri``)."""

from __future__ import annotations

from typing import Any

from tests.contract.scenario.activities import activities_step
from tests.contract.scenario.client import Api, Step
from tests.contract.scenario.fund import fund_step
from tests.contract.scenario.hours import hours_step
from tests.contract.scenario.registry import registry_step
from tests.contract.scenario.tickets import tickets_step
from yilinctl.contract import event_types

__all__ = ["CONFIG", "STEPS", "Api", "Step", "expected_events", "run", "services"]

# What the stack running the scenario needs: a suggestion's answer is due two seconds
# after it is collected, and the timer looks every half second (suggestion.escalated).
CONFIG: dict[str, Any] = {"TICKETS_SUGGESTION_ANSWER_DAYS": 2 / 86400, "TICKETS_SUGGESTION_INTERVAL": 0.5}

STEPS: list[Step] = [
    Step("registry", registry_step),
    Step("tickets", tickets_step, needs=("registry",)),
    Step("hours", hours_step, needs=("registry", "tickets")),
    Step("fund", fund_step, needs=("registry",)),
    Step("activities", activities_step, needs=("registry", "hours")),
]


def services() -> tuple[str, ...]:
    """The services the scenario needs, in ``SERVICES`` (start) order, gateway last."""
    from services import SERVICES

    wanted = {"gateway"} | {s.service for s in STEPS} | {n for s in STEPS for n in s.needs}
    return tuple(n for n in SERVICES if n in wanted)


def expected_events(started: tuple[str, ...] | None = None) -> set[tuple[str, str, int]]:
    """``(source, type, version)`` of every event type the started services publish."""
    return {(t.source, t.name, t.version) for t in event_types(started or services())}


def run(api: Api, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every step in order; return the accumulated context. ``context`` may name the
    broker (``amqp_uri``) for the one event no HTTP call can cause."""
    context = dict(context or {})
    for step in STEPS:
        context.update(step.run(api, context))
    return context
