"""Mainland resident ID numbers: the form they are stored, hashed and compared in, their
check digit, and how they are shown."""

from __future__ import annotations

import re
from operator import mul

# ASCII digits only, matched whole (``\d`` would take other scripts' digits, ``$`` a final newline)
ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ASCII_ZEROS = ord("0") * sum(_ID_WEIGHTS)  # the weighted sum of 17 code points, less this, is that of the digits


def canonical_id_number(value: str) -> str:
    """An ID number as it is stored, hashed and compared: a final check digit ``x`` is ``X``."""
    return value.upper()


def id_number_valid(value: str) -> bool:
    """A mainland resident ID number: 18 characters with a correct ISO 7064 check digit."""
    value = canonical_id_number(value)
    if not ID_NUMBER.fullmatch(value):
        return False
    # weighted over the code points (half the time of int() per digit; an import checks thousands)
    total = sum(map(mul, value.encode("ascii"), _ID_WEIGHTS)) - _ASCII_ZEROS
    return _ID_CHECK[total % 11] == value[17]


def id_check_digit(first17: str) -> str:
    """The check digit completing ``first17`` (used to make valid test numbers)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def mask_id_number(value: str) -> str:
    """``510104199001011234`` → ``5101**********1234``."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
