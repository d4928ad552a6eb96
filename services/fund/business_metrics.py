"""The fund service's business metrics (docs/runtime-contract.md names them)."""

from prometheus_client import Counter, Gauge

FUND_CONTRIBUTIONS_FEN = Counter(
    "yilin_fund_contributions_fen_total", "Contributions into community pools, fen.", ["service"]
)
DISBURSEMENTS_PENDING = Gauge("yilin_disbursements_pending", "Disbursement requests awaiting a decision.", ["service"])
FUND_POOL_BALANCE_FEN = Gauge("yilin_fund_pool_balance_fen", "Sum of all community pool balances, fen.", ["service"])
