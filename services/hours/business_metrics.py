"""The hours service's business metrics (docs/runtime-contract.md names them)."""

from prometheus_client import Counter

# Seconds, Prometheus's base unit (promtool refuses minutes and hours in a name); the ledger counts minutes.
VOLUNTEER_VERIFIED_SECONDS = Counter(
    "yilin_volunteer_verified_seconds_total", "Volunteer service time verified, in seconds.", ["service"]
)
STAR_LEVELS_REACHED = Counter(
    "yilin_star_levels_reached_total", "Volunteers reaching a star level.", ["service", "level"]
)
