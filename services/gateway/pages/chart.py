"""Bar charts as inline SVG: drawn on the server, readable without JavaScript, and
described for screen readers by a title and the data table beside them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int  # fen
    text: str  # the value as printed
    colour: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars scaled to the largest value, in a viewBox that scales to any width."""

    bars: list[Bar]
    width: int = 320
    bar_height: int = 18
    text_height: int = 22  # the label and amount above each bar
    gap: int = 12

    @property
    def height(self) -> int:
        return len(self.bars) * (self.text_height + self.bar_height + self.gap)

    def rows(self) -> list[dict[str, object]]:
        """Geometry of each bar for the template: where its text and its bar go."""
        top = max([b.value for b in self.bars if b.value > 0], default=0)
        rows = []
        for i, bar in enumerate(self.bars):
            length = round(self.width * max(bar.value, 0) / top) if top else 0
            y = i * (self.text_height + self.bar_height + self.gap)
            rows.append(
                {
                    "bar": bar,
                    "text_y": y + 16,
                    "bar_y": y + self.text_height,
                    "length": max(length, 2 if bar.value > 0 else 0),
                }
            )
        return rows
