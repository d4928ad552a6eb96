"""The tickets service's business metrics (docs/runtime-contract.md names them)."""

from prometheus_client import Counter, Gauge

TICKETS_OPEN = Gauge(
    "yilin_tickets_open", "Tickets not yet closed, by state and category.", ["service", "state", "category"]
)
TICKET_SLA_BREACHES = Counter(
    "yilin_ticket_sla_breaches_total", "Tickets that missed an SLA deadline.", ["service", "category", "kind"]
)
TICKET_RATINGS = Counter("yilin_ticket_ratings_total", "Residents' satisfaction ratings.", ["service", "rating"])
SUGGESTIONS_ESCALATED = Counter(
    "yilin_suggestions_escalated_total", "Suggestions whose answer passed its deadline.", ["service"]
)
