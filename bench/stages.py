"""The bench stages, in the order they run; each adds its ratios to the report."""

from __future__ import annotations

from typing import Any

from bench import baselines as base
from bench.environment import Environment
from bench.report import Figure, Ratio, Report


def baselines(env: Environment, sizes: Any, report: Report) -> None:
    """The broker's and the database's own ceilings, and a no-op nameko handler."""
    raw = base.raw_amqp(env, sizes.raw_events)
    noop = base.noop_handler(env, sizes.noop_events)
    commits = base.durable_commits(env, sizes.commit_seconds)
    report.details["baselines"] = {"raw_amqp": raw, "noop_handler": noop, "pg_commits": commits}
    report.memory("noop", noop["peak_rss_mib"])
    report.add(Ratio("noop_vs_raw_amqp", Figure("no-op nameko handler", noop["per_second"], "ev/s"),
                     Figure("plain AMQP consumer", raw["per_second"], "msg/s"),
                     note="context: what nameko itself costs per event"))
