"""Yilin's shared kit: configuration, database access, the event envelope with its
outbox and inbox, broker topology, errors, metrics and identity. Nothing
domain-specific lives here."""

__version__ = "0.1.0"
