"""The district indicators: one report assembled from every service's
``indicator_counts`` RPC (services.indicators names them), never from another
service's database; also kept as Prometheus gauges that a timer refreshes."""

from __future__ import annotations

import logging
from typing import Any, Callable

import eventlet
from marshmallow import Schema, fields
from prometheus_client import Gauge

from services.indicators import FIGURES, SOURCES

log = logging.getLogger(__name__)

DISTRICT_INDICATOR = Gauge(
    "yilin_district_indicator",
    "The district's figures from every service's data, all time (teams, volunteers, hours, disputes, suggestions, fund).",
    ["service", "indicator"],
)
SOURCE_TIMEOUT = 10  # seconds a source may take before the report says it is unavailable


class IndicatorsOut(Schema):
    from_ = fields.Date(data_key="from", allow_none=True, required=True)
    to = fields.Date(allow_none=True, required=True)
    figures = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        required=True,
        metadata={
            "description": "Figure → value, in the district's terms: "
            + "; ".join(f"{source}: {', '.join(names)}" for source, names in FIGURES.items())
            + ". Money in fen; rates 0 to 1."
        },
    )
    sources = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Each source service: ok, or unavailable (its figures are then missing)."},
    )


def gather(rpc: Callable[[str], Any], period: dict[str, Any]) -> dict[str, Any]:
    """Ask every source for its counts at once; one that fails is reported, not fatal."""
    wire = {"from": period.get("from"), "to": period.get("to")}

    def ask(source: str) -> tuple[str, dict[str, Any] | None]:
        try:
            with eventlet.Timeout(SOURCE_TIMEOUT):
                return source, rpc(source).indicator_counts(wire)
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure leaves that source out
            # a service away is an expected state (its own 503s say so): one line, no traceback
            log.warning("indicator source %s did not answer: %s", source, exc or type(exc).__name__)
            return source, None

    figures: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for source, counts in eventlet.GreenPool(len(SOURCES)).imap(ask, SOURCES):
        sources[source] = "ok" if counts is not None else "unavailable"
        figures.update(counts or {})
    return {"from": wire["from"], "to": wire["to"], "figures": figures, "sources": sources}


def publish(report: dict[str, Any]) -> None:
    """Set the gauges from an all-time report."""
    for name, value in report["figures"].items():
        DISTRICT_INDICATOR.labels("gateway", name).set(value)
