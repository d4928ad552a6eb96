"""Mainland resident ID numbers: the check digit, the canonical form and the mask."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.registry.id_numbers import canonical_id_number, id_check_digit, id_number_valid, mask_id_number

first17 = st.text("0123456789", min_size=17, max_size=17)


@given(first17)
def test_exactly_one_check_digit_completes_a_number(body: str) -> None:
    right = id_check_digit(body)
    assert id_number_valid(body + right) and id_number_valid(body + right.lower())
    assert [d for d in "0123456789X" if id_number_valid(body + d)] == [right]


@given(first17)
def test_the_mask_keeps_four_characters_each_end(body: str) -> None:
    number = canonical_id_number(body + id_check_digit(body).lower())
    masked = mask_id_number(number)
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:] and set(masked[4:-4]) == {"*"}


@given(first17)
def test_only_the_eighteen_ascii_characters_make_a_number(body: str) -> None:
    number = body + id_check_digit(body)
    other_digits = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))  # Arabic-Indic digits
    assert id_number_valid(number)
    assert not any(id_number_valid(v) for v in (number + "\n", " " + number, other_digits, number[:17]))
