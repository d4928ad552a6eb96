"""The community fund: social enterprises, annual profit reports, contributions, the
double-entry fund ledger, and disbursement requests with their approvals."""
