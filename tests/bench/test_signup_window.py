"""The sign-up stage's activities pass the activities service's own window rule at
every hour the bench may run (a run at 13:00 UTC once published one across midnight)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bench.signups import window
from services.activities.rules import window_problem


def test_every_hour_of_a_day_gives_a_window_the_service_accepts() -> None:
    midnight = datetime(2026, 12, 5, tzinfo=timezone.utc)
    for quarter in range(24 * 4):
        now = midnight + timedelta(minutes=15 * quarter)
        starts, ends = window(now)
        assert window_problem(starts, ends) is None, now
        assert starts > now + timedelta(days=1), now
