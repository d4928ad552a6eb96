"""What every service of the district takes as given: the district's clock, and the shape
of a rule's refusal. Plain values only (no database, no broker), so any rules module may
import it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone

# The district's days, months and years (served dates, activity days, indicator periods,
# the fund's calendar years) are China Standard Time: UTC+8 all year, no summer time.
LOCAL_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Problem:
    """Why a rule refuses: a message, and the error details naming the field. The caller
    raises the error its layer speaks (``Forbidden``, ``Conflict``, ``InvalidInput``)."""

    message: str
    details: dict[str, object]
