"""The fund's rules: contribution rounding, yuan on the wire, and double-entry postings
that keep the books balanced and no pool overdrawn."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.fund.rules import contribution_fen, fen_from_yuan, overdraws, posting, yuan

fen = st.integers(-(10**13), 10**13)


@given(fen, st.integers(0, 10_000))
def test_contribution_is_profit_times_rate_rounded_half_up(profit: int, rate_bp: int) -> None:
    expected = 0 if profit <= 0 else int((Decimal(profit) * rate_bp / 10_000).quantize(Decimal(1), ROUND_HALF_UP))
    assert contribution_fen(profit, rate_bp) == expected
    assert 0 <= contribution_fen(profit, rate_bp) <= max(profit, 0)


@given(fen)
def test_yuan_and_fen_round_trip(amount: int) -> None:
    assert fen_from_yuan(yuan(amount)) == amount
    assert fen_from_yuan(Decimal(yuan(amount))) == amount


@pytest.mark.parametrize("bad", [1.5, "1.234", "abc", "", None, Decimal("NaN"), Decimal("0.001")])
def test_inexact_or_malformed_amounts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        fen_from_yuan(bad)


ACCOUNTS = ["pool:a", "pool:b", "enterprise:x", "enterprise:y", "expense:a:other"]
KIND = {code: code.split(":", 1)[0] for code in ACCOUNTS}


@given(st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 10**9)), max_size=60))
def test_postings_keep_the_books_balanced_and_pools_never_negative(moves: list[tuple[str, str, int]]) -> None:
    balances: dict[str, int] = {}
    for debit, credit, amount in moves:
        if debit == credit or overdraws(KIND[credit], balances.get(credit, 0), amount):
            continue
        balances = posting(balances, debit, credit, amount)
        assert sum(balances.values()) == 0
    assert all(balances.get(code, 0) >= 0 for code in ACCOUNTS if KIND[code] == "pool")


def test_a_posting_moves_a_positive_amount() -> None:
    with pytest.raises(ValueError):
        posting({}, "pool:a", "enterprise:x", 0)
