"""CSV for people who open it in a spreadsheet: a cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return would run as a formula (CSV injection, OWASP),
so every text cell that does is prefixed with ``'`` and stays text."""

from __future__ import annotations

import csv
from typing import Any, Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` as a cell that no spreadsheet evaluates; numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every row is neutralised cell by cell."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, each text cell neutralised."""
        self._writer.writerow([neutralise(cell) for cell in row])
