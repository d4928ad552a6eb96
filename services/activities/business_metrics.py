"""The activities service's business metrics (docs/runtime-contract.md names them)."""

from prometheus_client import Counter

SIGN_UPS = Counter(
    "yilin_activity_sign_ups_total",
    "Sign-ups to activities by outcome: a place, the waiting list, or a cancellation.",
    ["service", "status"],
)
