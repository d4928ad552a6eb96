"""The run's record: every figure beside its baseline, printed as one table and
written as JSON (``bench/results/latest.json``, the one results file of a run) with a chart."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# YILIN_BENCH_RESULTS moves the output (the test suite's quick run writes to a temp dir,
# so `make test` never rewrites the committed results).
RESULTS = Path(os.environ.get("YILIN_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


@dataclass
class Figure:
    label: str
    value: float
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "value": self.value, "unit": self.unit}


@dataclass
class Ratio:
    name: str
    figure: Figure
    baseline: Figure
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def value(self) -> float:
        if not self.baseline.value:
            return 0.0
        return round(self.figure.value / self.baseline.value, 3)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "figure": self.figure.as_dict(),
            "baseline": self.baseline.as_dict(),
            "target": self.target,
            "higher_is_better": self.higher_is_better,
            "met": self.met,
            "note": self.note,
        }


@dataclass
class Report:
    mode: str
    ratios: dict[str, Ratio] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # What a stage ran under that a reader needs beside its figures (e.g. the CPU cap of
    # the scale-out replicas), and one-line findings printed under the table.
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Ratios this run did not measure, and why (the cluster stage under --quick).
    skipped: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def add(self, ratio: Ratio) -> Ratio:
        self.ratios[ratio.name] = ratio
        return ratio

    def skip(self, name: str, reason: str) -> None:
        """Record that ratio ``name`` was not measured in this run, and why."""
        self.skipped[name] = reason

    def memory(self, name: str, mib: float) -> None:
        self.memory_mib[name] = max(mib, self.memory_mib.get(name, 0.0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "started_at": datetime.fromtimestamp(self.started, timezone.utc).isoformat(),
            "duration_seconds": round(time.time() - self.started, 1),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "settings": self.settings,
            "ratios": {name: r.as_dict() for name, r in self.ratios.items()},
            "skipped": self.skipped,
            "memory_peak_rss_mib": self.memory_mib,
            "notes": self.notes,
            "details": self.details,
            "errors": self.errors,
        }

    def table(self) -> str:
        rows = [("ratio", "figure", "baseline", "ratio", "target")]
        for r in self.ratios.values():
            target = (
                ""
                if r.target is None
                else (("≥ " if r.higher_is_better else "≤ ") + f"{r.target:g}" + ("  ok" if r.met else "  MISSED"))
            )
            rows.append(
                (
                    r.name,
                    f"{r.figure.label} {_fmt(r.figure.value)} {r.figure.unit}",
                    f"{r.baseline.label} {_fmt(r.baseline.value)} {r.baseline.unit}",
                    f"{r.value:.3f}×",
                    target,
                )
            )
        rows.extend((name, reason, "", "", "") for name, reason in self.skipped.items())
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        if self.memory_mib or self.notes:
            lines.append("")
        if self.memory_mib:
            lines.append("peak RSS under load: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in self.memory_mib.items()))
        lines.extend(self.notes)
        for stage, error in self.errors.items():
            lines.append(f"stage {stage} FAILED: {error}")
        return "\n".join(lines)

    def write(self, directory: Path = RESULTS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        # One file per run: the previous run's figures are in git (and in the docs), so a
        # timestamped twin of the same JSON would only pile up.
        latest = directory / "latest.json"
        latest.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False))
        self.chart(directory / "latest.png")
        return latest

    def chart(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ratios = list(self.ratios.values())
        if not ratios:
            return
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(ratios) + 1.5))
        names = [r.name for r in ratios]
        values = [r.value for r in ratios]
        colours = ["#4c9f70" if r.met else ("#c0504d" if r.met is False else "#7f7f7f") for r in ratios]
        ax.barh(names, values, color=colours)
        for i, r in enumerate(ratios):
            if r.target is not None:
                ax.plot([r.target, r.target], [i - 0.4, i + 0.4], color="black", linewidth=1.5)
        ax.invert_yaxis()
        ax.set_xlabel("ratio to the baseline measured in the same run (bar); target (line)")
        ax.set_title(f"Yilin bench ({self.mode})")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def markdown(data: dict[str, Any]) -> str:
    """The table of a results file as Markdown (for docs/performance.md)."""
    lines = ["| ratio | figure | baseline | ratio | target |", "| --- | --- | --- | --- | --- |"]
    for name, r in data["ratios"].items():
        fig, base = r["figure"], r["baseline"]
        target = (
            ""
            if r["target"] is None
            else (
                ("≥ " if r["higher_is_better"] else "≤ ") + f"{r['target']:g}" + (" met" if r["met"] else " **missed**")
            )
        )
        lines.append(
            f"| `{name}` | {fig['label']} {_fmt(fig['value'])} {fig['unit']} | "
            f"{base['label']} {_fmt(base['value'])} {base['unit']} | {r['value']:.3f}× | {target} |"
        )
    lines.extend(f"| `{name}` | {reason} | | | |" for name, reason in data.get("skipped", {}).items())
    memory = ", ".join(f"{k} {v:.0f} MiB" for k, v in data.get("memory_peak_rss_mib", {}).items())
    notes = "".join(f"\n\n{note}" for note in data.get("notes", []))
    return "\n".join(lines) + f"\n\nPeak RSS under load: {memory}." + notes


if __name__ == "__main__":
    import sys

    print(markdown(json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else RESULTS / "latest.json").read_text())))
