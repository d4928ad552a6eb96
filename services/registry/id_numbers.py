"""Mainland resident ID numbers: the form they are stored, hashed and compared in, their
check digit, and how they are shown."""

from __future__ import annotations

import re
from operator import mul

ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def canonical_id_number(value: str) -> str:
    """An ID number as it is stored, hashed and compared: a final check digit ``x`` is ``X``."""
    return value.upper()


def id_number_valid(value: str) -> bool:
    """A mainland resident ID number: 18 characters with a correct ISO 7064 check digit."""
    value = canonical_id_number(value)
    if not ID_NUMBER.match(value):
        return False
    total = sum(map(mul, map(int, value[:17]), _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17]


def id_check_digit(first17: str) -> str:
    """The check digit completing ``first17`` (used to make valid test numbers)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def mask_id_number(value: str) -> str:
    """``510104199001011234`` → ``5101**********1234``."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
