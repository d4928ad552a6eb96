"""Reads the process and metric tables of docs/runtime-contract.md.

The tests compare the Prometheus and Grafana files against this page rather than
against a copy of it, so the page stays the single source of names and ports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "docs" / "runtime-contract.md"

# Labels every Yilin series carries, or that Prometheus adds at scrape time.
SCRAPE_LABELS = frozenset({"service", "job", "instance"})


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # counter, gauge, histogram
    labels: frozenset[str]


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        raise AssertionError(f"{CONTRACT} has no '## {heading}' section")
    return match.group(1)


def _table_rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.fullmatch(r"\|[\s\-:|]+\|", line):
            continue
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # drop the header row


def metrics(path: Path = CONTRACT) -> dict[str, Metric]:
    """Every metric name on the page, keyed by name.

    A row may name several metrics ("`a` / `b`"); a labels cell lists label names
    in backticks and their values in parentheses, which are not labels.
    """
    found: dict[str, Metric] = {}
    for cells in _table_rows(_section(path.read_text(encoding="utf-8"), "Metrics")):
        names, kind, labels = cells[0], cells[1], cells[2]
        kind = kind.split()[0].lower()
        label_names = frozenset(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", labels)))
        for name in re.findall(r"`([a-z_:][a-z0-9_:]*)`", names):
            found[name] = Metric(name, kind, label_names)
    if not found:
        raise AssertionError(f"no metric names found in {path}")
    return found


def metrics_ports(path: Path = CONTRACT) -> dict[str, int]:
    """service name -> metrics port, from the Processes table."""
    ports = {}
    for cells in _table_rows(_section(path.read_text(encoding="utf-8"), "Processes")):
        ports[cells[0].strip("` ")] = int(cells[2])
    if not ports:
        raise AssertionError(f"no processes found in {path}")
    return ports


def is_known_metric(name: str, contract: dict[str, Metric]) -> bool:
    """A name the contract allows in queries: its own names, histogram series,
    `up`, prometheus_client's process_* and the RabbitMQ plugin's rabbitmq_*."""
    if name == "up" or name.startswith(("process_", "rabbitmq_")) or name in contract:
        return True
    base, _, suffix = name.rpartition("_")
    metric = contract.get(base)
    return suffix in {"bucket", "sum", "count"} and metric is not None and metric.kind == "histogram"


def allowed_labels(name: str, contract: dict[str, Metric]) -> frozenset[str] | None:
    """Labels a selector of `name` may match on; None when the contract does not
    describe the series (up, process_*, rabbitmq_*)."""
    metric = contract.get(name)
    if metric is None:
        base, _, suffix = name.rpartition("_")
        metric = contract.get(base) if suffix in {"bucket", "sum", "count"} else None
        if metric is None:
            return None
        if suffix == "bucket":
            return metric.labels | SCRAPE_LABELS | {"le"}
    return metric.labels | SCRAPE_LABELS
